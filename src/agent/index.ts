/**
 * The agent sidecar of the MySQL pod: reports its binlogs over HTTP (src/agent/contract.ts) and optionally rotates
 * them for an RPO bound. Import from here; the other files are internals.
 */
export { startAgent } from './agent.ts';
export type { AgentOptions, RunningAgent } from './agent.ts';
export { fetchAgentState } from './client.ts';
export { AGENT_PATHS, stateUrl } from './contract.ts';
export type { AgentBinlog, AgentErrorBody, AgentState, FetchStateOptions } from './contract.ts';
export { AGENT_DEFAULTS } from './defaults.ts';
export { parseDuration } from './duration.ts';
export { parseListen } from './listen.ts';
