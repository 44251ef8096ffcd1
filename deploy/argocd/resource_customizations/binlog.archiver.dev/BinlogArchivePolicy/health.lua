-- Argo CD health of a BinlogArchivePolicy (binlog.archiver.dev). Lua 5.1 (gopher-lua), no libraries beyond base,
-- string and table. Healthy when the controller has observed the current generation and Ready is True; Degraded
-- when archiving needs a person (a gap, binlogs at risk of purge, storage or key provider unavailable, failing
-- Jobs, unusable sources, Stalled, a scheduled verification that found problems); Progressing until the controller has caught up (or while Reconciling).
local hs = { status = "Progressing", message = "Waiting for the controller to report status" }

local function condition(conditions, type)
  if conditions == nil then return nil end
  for _, c in ipairs(conditions) do
    if c.type == type then return c end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then return (c.reason or "") .. ": " .. c.message end
  return c.reason or ""
end

-- Reasons of Ready=False or ContinuousArchiving=False that only a person (or a recovered dependency) fixes.
local degraded = {
  BinlogGapDetected = true, AtRiskOfPurge = true, StorageUnavailable = true, KeyProviderUnavailable = true,
  ArchiveJobFailed = true, SourceNotArchivable = true, NoSourcePods = true,
}

if obj.status == nil then return hs end
local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration or 0
if observed < generation then
  hs.message = "Waiting for the controller to observe generation " .. generation .. " (observed " .. observed .. ")"
  return hs
end

local conditions = obj.status.conditions
local stalled = condition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
-- Gaps and purge risk first: they lose recoverability, whatever Ready says.
local continuous = condition(conditions, "ContinuousArchiving")
if continuous ~= nil and continuous.status == "False" and degraded[continuous.reason] then
  hs.status = "Degraded"
  hs.message = describe(continuous)
  return hs
end
-- A scheduled verification found the archive is not what its manifest says: restores cannot be trusted. A run that
-- could not finish (VerificationFailed) is left to the BinlogArchiveNotVerified alert: archiving itself is fine.
local verified = condition(conditions, "ArchiveVerified")
if verified ~= nil and verified.status == "False" and verified.reason == "VerificationProblems" then
  hs.status = "Degraded"
  hs.message = describe(verified)
  return hs
end
local ready = condition(conditions, "Ready")
if ready == nil then return hs end
if ready.status == "False" and ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if ready.status == "False" and degraded[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
local reconciling = condition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
hs.message = describe(ready)
return hs
