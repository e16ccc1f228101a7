/**
 * OpenTelemetry spans for every licensing call, built on the client's diagnostics channels
 * (docs/observability.md). The library does not depend on OpenTelemetry: this is all there is to it.
 *
 * Run: node --import tsx examples/otel.ts   (npm i @opentelemetry/api @opentelemetry/sdk-trace-base)
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { type CallContext, LicenseClient } from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

// ---- the set-up an application does once -------------------------------------------------------
const exporter = new InMemorySpanExporter(); // in production: an OTLP exporter
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('lv-license-client');
const spans = new WeakMap<object, Span>();

for (const name of ['openPort', 'acquire', 'release', 'loadVoiceChannel'] as const) {
  tracingChannel<unknown, CallContext>(`lv-license:${name}`).subscribe({
    start(call) {
      const attributes: Record<string, string | number> = { 'lv.operation': call.operation };
      if (call.feature !== undefined) attributes['lv.feature'] = call.feature;
      if (call.count !== undefined) attributes['lv.count'] = call.count;
      spans.set(call, tracer.startSpan(`lv-license ${name}`, { attributes }));
    },
    error(call) {
      const span = spans.get(call);
      if (call.code !== undefined) span?.setAttribute('lv.code', call.code);
      if (call.status !== undefined) span?.setAttribute('lv.status', call.status);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (call.error as Error).message });
    },
    asyncEnd(call) {
      const span = spans.get(call);
      if (call.lease !== undefined) span?.setAttribute('lv.lease', call.lease);
      if (call.server !== undefined) span?.setAttribute('server.address', call.server);
      if (call.feature !== undefined) span?.setAttribute('lv.feature', call.feature);
      span?.end();
    },
    end() {},
    asyncStart() {},
  });
}

// ---- the application, unchanged ----------------------------------------------------------------
await using server = await FakeLicenseServer.start({ licenses: { FULL: 1, TTS: 1 } });
const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
const port = await client.openPort();
await client.loadVoiceChannel(port, 1);
const tts = await client.acquire('TTS');
await tts.release();
await client.acquire('TTS', { count: 5 }).catch(() => {}); // more than the pool: refused
await port.close();
await client.close();

for (const span of exporter.getFinishedSpans()) {
  const status = span.status.code === SpanStatusCode.ERROR ? `ERROR ${span.status.message}` : 'OK';
  console.log(`${span.name} ${JSON.stringify(span.attributes)} ${status}`);
}
await provider.shutdown();
