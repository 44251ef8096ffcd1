/** The run report lives in src/contracts/run-report.ts (the CLI writes it, the controller reads it); re-exported here. */
export * from '../contracts/run-report.ts';
