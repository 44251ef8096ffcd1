/**
 * `npm run demo`: archive, verify and restore sample binlogs on this machine alone (scripts/demo-files.ts).
 * `npm run demo -- --operator [--keep]`: the operator's whole loop on the test environment's real node
 * (scripts/demo-operator.ts).
 */
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--operator' && a !== '--keep');
if (unknown.length > 0 || (args.includes('--keep') && !args.includes('--operator'))) {
  process.stderr.write(`demo: unknown argument ${unknown[0] ?? '--keep (only with --operator)'}\nusage: npm run demo [-- --operator [--keep]]\n`);
  process.exit(2);
}
await import(args.includes('--operator') ? './demo-operator.ts' : './demo-files.ts');
