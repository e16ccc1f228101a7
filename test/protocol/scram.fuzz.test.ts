import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ScramError } from '../../src/protocol/protocol-error.js';
import {
  decodeSaslName,
  deriveScramCredentials,
  encodeSaslName,
  parseScramVerifier,
  ScramClient,
  ScramServer,
} from '../../src/protocol/scram.js';

const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const credentials = deriveScramCredentials('pencil', {
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
});

/** Only the two error classes of the protocol layer may escape on garbage. */
function onlyProtocolErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ProtocolError || err instanceof ScramError)) throw err;
  }
}

/** Strings that look like SCRAM: attribute letters, `=`, `,`, base64 and nonce characters, digits. */
const scramish = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'n,,',
        'r=',
        's=',
        'i=',
        'c=',
        'p=',
        'v=',
        'e=',
        'm=',
        'a=',
        'y,,',
        ',',
        '=',
        '=3D',
        '=2C',
      ),
      fc.constantFrom(
        CLIENT_NONCE,
        'biws',
        'W22ZaJ0SNY7soEsUEjb6gQ==',
        '4096',
        '%hvYD',
        '\u0000',
        'é',
        '\uD800',
      ),
      fc.string({ maxLength: 6, unit: 'binary' }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

const garbage = fc.oneof(scramish, fc.string({ unit: 'binary' }), fc.string());

/** A valid message with one character replaced, inserted or removed. */
function mutate(message: string) {
  return fc
    .tuple(
      fc.nat({ max: message.length }),
      fc.constantFrom('replace', 'insert', 'delete'),
      fc.string({ minLength: 1, maxLength: 2, unit: 'binary' }),
    )
    .map(([at, how, text]) => {
      if (how === 'insert') return message.slice(0, at) + text + message.slice(at);
      if (how === 'delete') return message.slice(0, at) + message.slice(at + 1);
      return message.slice(0, at) + text + message.slice(at + 1);
    });
}

describe('SCRAM parsers under fuzzing', () => {
  it('ScramClient.finalMessage throws only protocol errors', () => {
    fc.assert(
      fc.property(fc.oneof(garbage, mutate(SERVER_FIRST)), (serverFirst) => {
        onlyProtocolErrors(() =>
          new ScramClient('user', 'pencil', { nonce: CLIENT_NONCE }).finalMessage(serverFirst),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('ScramClient.verifyServer throws only protocol errors, and accepts nothing but the right signature', () => {
    const client = () => {
      const c = new ScramClient('user', 'pencil', { nonce: CLIENT_NONCE });
      c.finalMessage(SERVER_FIRST);
      return c;
    };
    const right = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
    fc.assert(
      fc.property(fc.oneof(garbage, mutate(right)), (serverFinal) => {
        fc.pre(serverFinal !== right && !serverFinal.startsWith(`${right},`));
        let error: unknown;
        try {
          client().verifyServer(serverFinal);
        } catch (err) {
          error = err;
        }
        expect(error instanceof ProtocolError || error instanceof ScramError).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('ScramServer.start throws only protocol errors', () => {
    fc.assert(
      fc.property(fc.oneof(garbage, mutate(CLIENT_FIRST)), (clientFirst) => {
        onlyProtocolErrors(() => new ScramServer(() => credentials).start(clientFirst));
      }),
      { numRuns: 300 },
    );
  });

  it('ScramServer.finish never throws and accepts nothing but the right proof', () => {
    const right =
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
    fc.assert(
      fc.property(fc.oneof(garbage, mutate(right)), (clientFinal) => {
        fc.pre(clientFinal !== right);
        const server = new ScramServer(() => credentials, { nonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
        server.start(CLIENT_FIRST);
        const outcome = server.finish(clientFinal);
        expect(outcome.ok).toBe(false);
        expect(outcome.serverFinal).toMatch(/^e=[a-z-]+$/);
      }),
      { numRuns: 300 },
    );
  });

  it('parseScramVerifier throws only ScramError', () => {
    fc.assert(
      fc.property(garbage, (text) => {
        expect(() => parseScramVerifier(text)).toThrow(ScramError);
      }),
    );
  });

  it('saslname encoding round-trips any username', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (name) => {
        const encoded = encodeSaslName(name);
        expect(encoded).not.toContain(',');
        expect(decodeSaslName(encoded)).toBe(name);
      }),
    );
  });

  it('any valid username and password authenticate end to end', () => {
    const credential = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((s) => {
      const n = s.normalize('NFKC');
      return n.length > 0 && !/[\p{Cc}\p{Cs}]/u.test(n);
    });
    fc.assert(
      fc.property(credential, credential, (username, password) => {
        const stored = deriveScramCredentials(password);
        const client = new ScramClient(username, password);
        const server = new ScramServer((name) => (name === username.normalize('NFKC') ? stored : undefined));
        const outcome = server.finish(client.finalMessage(server.start(client.firstMessage())));
        expect(outcome).toMatchObject({ ok: true, username: username.normalize('NFKC') });
        client.verifyServer(outcome.serverFinal);
      }),
      { numRuns: 25 },
    );
  });
});
