/** Correlation and batch ids live in src/contracts/ids.ts (the controller makes them too); re-exported here. */
export * from '../contracts/ids.ts';
