/** A client of the agent's /v1/state, for the controller and the tests: one request, typed answer, bounded time. */
import { ArchiverError } from '../errors.ts';
import { type AgentErrorBody, type AgentState, type FetchStateOptions, stateUrl } from './contract.ts';

/** Beyond the long-poll itself, how long the agent may take to answer. */
const SLACK_MS = 10_000;

export async function fetchAgentState(base: string, options: FetchStateOptions = {}): Promise<AgentState> {
  const url = stateUrl(base, options);
  const timeout = AbortSignal.timeout((options.waitSeconds ?? 0) * 1000 + SLACK_MS);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (err) {
    throw new ArchiverError('EINTERNAL', `agent ${base} did not answer: ${(err as Error).message}`, { cause: err, context: { url } });
  }
  const text = await res.text();
  if (res.status !== 200) {
    let detail = text.slice(0, 300);
    try {
      detail = (JSON.parse(text) as AgentErrorBody).error.message;
    } catch { /* not JSON: keep the text */ }
    throw new ArchiverError('EINTERNAL', `agent ${base} answered ${res.status}: ${detail}`, { context: { url, status: res.status } });
  }
  return JSON.parse(text) as AgentState;
}
