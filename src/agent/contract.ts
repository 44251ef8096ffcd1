/** The agent's HTTP contract lives in src/contracts/agent.ts (the controller reads it too); re-exported for the agent. */
export * from '../contracts/agent.ts';
