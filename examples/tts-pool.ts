/**
 * A pool of TTS licenses shared by many synthesis jobs: `acquire('TTS', { count, wait, signal })`, the
 * server's FIFO queue, and giving up a wait with an AbortSignal.
 *
 *   node --import tsx examples/tts-pool.ts
 */
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { LicenseClient, LicensesExceededError, toReturnCode } from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

const server = await FakeLicenseServer.start({ licenses: { TTS: 2 } });
const client = new LicenseClient({ servers: server.address });
const started = Date.now();
const log = (line: string) =>
  console.log(`${`+${((Date.now() - started) / 1_000).toFixed(2)}s`.padStart(7)}  ${line}`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** How a rejected acquire reads in a log: its class, LV_* code and name. */
const why = (err: unknown) =>
  err instanceof Error
    ? `${err.name} ${toReturnCode(err)} ${'codeName' in err ? err.codeName : ''}`
    : String(err);

client.on('queue-position', ({ lease, feature, position }) =>
  log(`queue-position: ${lease} waits for ${feature}, #${position} in line`),
);

try {
  // A long announcement takes both TTS seats.
  const announcement = await client.acquire('TTS', { count: 2 });
  log(
    `announcement holds ${announcement.count} TTS seats on ${announcement.server}; in use: ${server.inUse('TTS')}`,
  );

  // Without `wait`, a full pool fails at once (LicensesExceededError, -26): play a fallback prompt.
  try {
    await client.acquire('TTS');
  } catch (err) {
    if (!(err instanceof LicensesExceededError)) throw err;
    log(`prompt without wait: ${why(err)}, use the recorded prompt`);
  }

  // With `wait`, the request queues at the server (FIFO) and is granted when a seat comes free.
  const prompt = client.acquire('TTS', { wait: 5_000 });

  // A caller hangs up while its prompt waits: aborting leaves the queue (LV_RESET, -3).
  const hangUp = new AbortController();
  const abandoned = client.acquire('TTS', { wait: 5_000, signal: hangUp.signal });
  // A job with its own deadline (AbortSignal.timeout): at the deadline the call rejects with what the
  // server said, LicensesExceededError (-26), or TimeoutError (-6) if no server had answered.
  const impatient = client.acquire('TTS', { wait: 5_000, signal: AbortSignal.timeout(400) });

  await sleep(250);
  hangUp.abort();
  log(`caller hung up: ${await abandoned.then(() => 'granted?', why)}`);
  log(`job with a 400 ms deadline: ${await impatient.then(() => 'granted?', why)}`);

  await sleep(200);
  await announcement.release();
  log(`announcement released; in use: ${server.inUse('TTS')}`);
  const granted = await prompt;
  log(
    `waiting prompt granted: ${granted.count} seat after ${Date.now() - started} ms; in use: ${server.inUse('TTS')}`,
  );

  // The server's own wait limit: 2 seats never come free within 300 ms (LV_TIME_OUT, -6).
  log(
    `2 seats with wait 300 ms: ${await client.acquire('TTS', { count: 2, wait: 300 }).then(() => 'granted?', why)}`,
  );

  // `await using` gives the seats back when the block ends, even if it throws.
  {
    await using voice = await client.acquire('TTS');
    log(`scoped lease ${voice.id}; in use: ${server.inUse('TTS')}`);
  }
  await granted.release();
  log(`all released; in use: ${server.inUse('TTS')}`);
} finally {
  await client.close();
  await server.close();
}
