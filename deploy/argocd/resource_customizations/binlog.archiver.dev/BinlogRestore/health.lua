-- Argo CD health of a BinlogRestore (binlog.archiver.dev). Lua 5.1 (gopher-lua), no libraries beyond base,
-- string and table. The restore's conditions follow kstatus: Healthy when Ready is True (it succeeded); Degraded
-- when Stalled is True (it failed for good: a gap without spec.acceptGaps, a target outside the archive, a refused
-- key, a failed verification or replay, a wait past spec.waitTimeout: WaitTimedOut) or its phase is Failed;
-- Progressing while Reconciling (waiting for its policy, claim, Service or a Secret its Job mounts, planning,
-- restoring) or until the controller has observed the current generation.
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
if obj.status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = obj.status.message or "Restore failed"
  return hs
end
local ready = condition(conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
local reconciling = condition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
if obj.status.phase ~= nil then hs.message = "Phase " .. obj.status.phase end
return hs
