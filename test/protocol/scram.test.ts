import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ProtocolError, ScramError } from '../../src/protocol/protocol-error.js';
import { ReturnCode } from '../../src/protocol/return-codes.js';
import {
  decodeSaslName,
  deriveScramCredentials,
  encodeSaslName,
  formatScramVerifier,
  parseScramVerifier,
  ScramClient,
  type ScramCredentials,
  ScramServer,
} from '../../src/protocol/scram.js';

/** RFC 7677 section 3. */
const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
} as const;

const rfcCredentials = deriveScramCredentials(RFC.password, {
  salt: Buffer.from(RFC.salt, 'base64'),
  iterations: 4096,
});

function accounts(table: Record<string, ScramCredentials>) {
  return (name: string) => (Object.hasOwn(table, name) ? table[name] : undefined);
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('SCRAM-SHA-256: the RFC 7677 test vector', () => {
  it('client side', () => {
    const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
    expect(client.firstMessage()).toBe(RFC.clientFirst);
    expect(client.finalMessage(RFC.serverFirst)).toBe(RFC.clientFinal);
    expect(() => client.verifyServer(RFC.serverFinal)).not.toThrow();
  });

  it('server side', () => {
    const server = new ScramServer(accounts({ user: rfcCredentials }), { nonce: RFC.serverNonce });
    expect(server.start(RFC.clientFirst)).toBe(RFC.serverFirst);
    expect(server.finish(RFC.clientFinal)).toEqual({
      ok: true,
      serverFinal: RFC.serverFinal,
      username: 'user',
    });
  });
});

describe('SCRAM-SHA-256 exchanges', () => {
  function run(username: string, password: string, table: Record<string, ScramCredentials>) {
    const client = new ScramClient(username, password);
    const server = new ScramServer(accounts(table));
    const clientFinal = client.finalMessage(server.start(client.firstMessage()));
    return { client, outcome: server.finish(clientFinal) };
  }

  it('round-trips with random nonces and salts, and both sides are convinced', () => {
    const { client, outcome } = run('alice', 's3cret', { alice: deriveScramCredentials('s3cret') });
    expect(outcome).toMatchObject({ ok: true, username: 'alice' });
    expect(() => client.verifyServer(outcome.serverFinal)).not.toThrow();
  });

  it('handles usernames with "=" and "," and non-ASCII text (NFKC on both sides)', () => {
    const name = 'a=b,c ﬁ Ω';
    const table = { [name.normalize('NFKC')]: deriveScramCredentials('pässwörd') };
    const { client, outcome } = run(name, 'pa\u0308sswo\u0308rd', table);
    expect(client.firstMessage()).toContain('n=a=3Db=2Cc fi Ω,');
    expect(outcome).toMatchObject({ ok: true, username: 'a=b,c fi Ω' });
    client.verifyServer(outcome.serverFinal);
  });

  it('refuses a wrong password with e=invalid-proof, which the client reports as a server-error', () => {
    const { client, outcome } = run('alice', 'wrong', { alice: deriveScramCredentials('s3cret') });
    expect(outcome).toEqual({ ok: false, serverFinal: 'e=invalid-proof', reason: 'invalid-proof' });
    const error = thrown(() => client.verifyServer(outcome.serverFinal));
    expect(error).toBeInstanceOf(ScramError);
    expect(error).toMatchObject({
      kind: 'server-error',
      serverError: 'invalid-proof',
      code: ReturnCode.LV_INVALID_LICENSE,
    });
  });

  it('answers an unknown user like a wrong password, with a stable fake salt', () => {
    const secret = Buffer.alloc(32, 7);
    const salts = [1, 2].map(() => {
      const server = new ScramServer(accounts({}), { secret });
      const serverFirst = server.start('n,,n=mallory,r=abc');
      return /,s=([^,]+),/.exec(serverFirst)?.[1];
    });
    expect(salts[0]).toBeDefined();
    expect(salts[0]).toBe(salts[1]);
    const other = new ScramServer(accounts({}), { secret }).start('n,,n=eve,r=abc');
    expect(other).not.toContain(`s=${salts[0]}`);

    const { outcome } = run('mallory', 'guess', {});
    expect(outcome).toEqual({ ok: false, serverFinal: 'e=invalid-proof', reason: 'unknown-user' });
  });

  it('client detects a server that does not know the account (server-signature-mismatch)', () => {
    const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
    client.finalMessage(RFC.serverFirst);
    const impostor = `v=${Buffer.alloc(32, 1).toString('base64')}`;
    const error = thrown(() => client.verifyServer(impostor));
    expect(error).toBeInstanceOf(ScramError);
    expect(error).toMatchObject({ kind: 'server-signature-mismatch', code: ReturnCode.LV_INVALID_LICENSE });
  });

  it('client refuses a server-first-message whose nonce does not extend its own', () => {
    for (const serverFirst of [
      'r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      `r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
      `r=X${RFC.clientNonce}abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`,
    ]) {
      const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
      expect(thrown(() => client.finalMessage(serverFirst))).toMatchObject({ reason: 'invalid-message' });
    }
  });

  it('client refuses weak, absurd or malformed iteration counts and salts', () => {
    const nonce = `${RFC.clientNonce}srv`;
    for (const tail of [
      's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095',
      's=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999',
      's=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096',
      's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096.0',
      's=not base64!,i=4096',
      's=,i=4096',
      'i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==',
    ]) {
      const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
      const error = thrown(() => client.finalMessage(`r=${nonce},${tail}`));
      expect(error, tail).toBeInstanceOf(ProtocolError);
      expect(error).toMatchObject({ reason: 'invalid-message' });
    }
  });

  it('client refuses a mandatory extension and ignores optional ones', () => {
    const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
    expect(thrown(() => client.finalMessage(`m=ext,${RFC.serverFirst}`))).toMatchObject({
      reason: 'invalid-message',
    });
    const extended = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
    expect(extended.finalMessage(`${RFC.serverFirst},x=future`)).toMatch(/^c=biws,r=.*,p=/);
  });

  it('server refuses a tampered nonce in the client-final-message', () => {
    const server = new ScramServer(accounts({ user: rfcCredentials }), { nonce: RFC.serverNonce });
    server.start(RFC.clientFirst);
    const tampered = RFC.clientFinal.replace('hNlF$k0', 'hNlF$k1');
    expect(server.finish(tampered)).toMatchObject({ ok: false, serverFinal: 'e=other-error' });
  });

  it('server refuses a tampered proof, channel binding data, or garbage, without throwing', () => {
    const cases: Array<[string, string]> = [
      [RFC.clientFinal.replace('p=dHzb', 'p=dHzc'), 'e=invalid-proof'],
      [RFC.clientFinal.replace('c=biws', 'c=eSws'), 'e=channel-bindings-dont-match'],
      [RFC.clientFinal.replace(/p=.*$/, 'p=AAAA'), 'e=invalid-encoding'],
      [RFC.clientFinal.replace(/,p=.*$/, ''), 'e=invalid-encoding'],
      ['', 'e=invalid-encoding'],
      ['garbage', 'e=invalid-encoding'],
    ];
    for (const [clientFinal, serverFinal] of cases) {
      const server = new ScramServer(accounts({ user: rfcCredentials }), { nonce: RFC.serverNonce });
      server.start(RFC.clientFirst);
      expect(server.finish(clientFinal), clientFinal).toMatchObject({ ok: false, serverFinal });
    }
  });

  it('server refuses channel binding (p=, y) and authzid with clear errors', () => {
    const server = () => new ScramServer(accounts({}));
    for (const header of ['p=tls-unique,,', 'y,,']) {
      const error = thrown(() => server().start(`${header}n=user,r=abc`));
      expect(error).toBeInstanceOf(ScramError);
      expect(error).toMatchObject({
        kind: 'channel-binding-unsupported',
        code: ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE,
      });
      expect((error as Error).message).toMatch(/channel binding is not supported/);
    }
    expect(thrown(() => server().start('n,a=admin,n=user,r=abc'))).toMatchObject({
      reason: 'invalid-message',
    });
    expect(thrown(() => server().start('n,,m=x,n=user,r=abc'))).toMatchObject({ reason: 'invalid-message' });
    expect(thrown(() => server().start('n,,n=a=2Xb,r=abc'))).toMatchObject({ reason: 'invalid-message' });
    expect(thrown(() => server().start('n,,n=user,r=a b'))).toMatchObject({ reason: 'invalid-message' });
  });

  it('each side is single use', () => {
    const server = new ScramServer(accounts({ user: rfcCredentials }), { nonce: RFC.serverNonce });
    expect(server.finish(RFC.clientFinal)).toMatchObject({ ok: false, serverFinal: 'e=other-error' });
    server.start(RFC.clientFirst);
    expect(thrown(() => server.start(RFC.clientFirst))).toMatchObject({ reason: 'unexpected-message' });
    expect(server.finish(RFC.clientFinal).ok).toBe(true);
    expect(server.finish(RFC.clientFinal).ok).toBe(false);

    const client = new ScramClient(RFC.user, RFC.password, { nonce: RFC.clientNonce });
    expect(thrown(() => client.verifyServer(RFC.serverFinal))).toMatchObject({
      reason: 'unexpected-message',
    });
    client.finalMessage(RFC.serverFirst);
    expect(thrown(() => client.finalMessage(RFC.serverFirst))).toMatchObject({
      reason: 'unexpected-message',
    });
  });

  it('refuses empty or control-character credentials, and keeps the password out of sight', () => {
    for (const [user, password] of [
      ['', 'x'],
      ['x', ''],
      ['a\u0000b', 'x'],
      ['x', 'pass\nword'],
      ['x', '\uD800'],
    ]) {
      const error = thrown(() => new ScramClient(user as string, password as string));
      expect(error).toBeInstanceOf(ScramError);
      expect(error).toMatchObject({ kind: 'invalid-credentials' });
    }
    expect(thrown(() => new ScramClient('u', 'p', { nonce: 'a,b' }))).toMatchObject({
      kind: 'invalid-argument',
    });
    expect(thrown(() => new ScramServer(accounts({}), { nonce: '' }))).toMatchObject({
      kind: 'invalid-argument',
    });
    expect(thrown(() => new ScramServer(accounts({}), { iterations: 100 }))).toMatchObject({
      kind: 'invalid-argument',
    });
    const client = new ScramClient('alice', 'hunter2-secret');
    expect(inspect(client, { showHidden: true, depth: 5 })).not.toContain('hunter2');
  });
});

describe('saslname', () => {
  it('encodes "=" and "," and decodes strictly', () => {
    expect(encodeSaslName('a=b,c')).toBe('a=3Db=2Cc');
    expect(decodeSaslName('a=3Db=2Cc')).toBe('a=b,c');
    expect(decodeSaslName('=3D2C')).toBe('=2C');
    expect(decodeSaslName('a=b')).toBeUndefined();
    expect(decodeSaslName('a=3d')).toBeUndefined();
    expect(decodeSaslName('a,b')).toBeUndefined();
  });
});

describe('stored verifier', () => {
  it('derives the RFC 7677 keys and round-trips the PostgreSQL text form', () => {
    const text = formatScramVerifier(rfcCredentials);
    expect(text).toMatch(
      /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/,
    );
    expect(parseScramVerifier(text)).toEqual(rfcCredentials);
    const fresh = deriveScramCredentials('pw', { iterations: 5000 });
    expect(fresh.salt).toHaveLength(16);
    expect(parseScramVerifier(formatScramVerifier(fresh))).toEqual(fresh);
  });

  it('a server configured from the text form accepts the RFC client', () => {
    const stored = parseScramVerifier(formatScramVerifier(rfcCredentials));
    const server = new ScramServer(accounts({ user: stored }), { nonce: RFC.serverNonce });
    server.start(RFC.clientFirst);
    expect(server.finish(RFC.clientFinal).ok).toBe(true);
  });

  it('refuses malformed verifiers without echoing them', () => {
    const good = formatScramVerifier(rfcCredentials);
    for (const text of [
      '',
      'md5abc',
      good.replace('SCRAM-SHA-256', 'SCRAM-SHA-1'),
      good.replace('$4096:', '$100:'),
      good.replace('$4096:', '$x:'),
      `${good}:extra`,
      good.replace(/:[^:]+$/, ':c2hvcnQ='),
      good.replace('W22ZaJ0SNY7soEsUEjb6gQ==', 'not*base64'),
    ]) {
      const error = thrown(() => parseScramVerifier(text));
      expect(error, text).toBeInstanceOf(ScramError);
      expect(error).toMatchObject({ kind: 'invalid-argument' });
      if (text.length > 20) expect((error as Error).message).not.toContain(text.slice(20));
    }
  });

  it('refuses unusable derivation options', () => {
    expect(thrown(() => deriveScramCredentials('pw', { iterations: 1000 }))).toMatchObject({
      kind: 'invalid-argument',
    });
    expect(thrown(() => deriveScramCredentials('pw', { salt: Buffer.alloc(0) }))).toMatchObject({
      kind: 'invalid-argument',
    });
    expect(thrown(() => deriveScramCredentials(''))).toMatchObject({ kind: 'invalid-credentials' });
  });
});
