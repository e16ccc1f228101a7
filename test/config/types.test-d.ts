import { describe, expectTypeOf, it } from 'vitest';
import {
  type ClientProperties,
  type ConfigWarning,
  type ConfigWarningCode,
  Credentials,
  type DEFAULT_LICENSE_PORT,
  type DEFAULT_LICENSE_SERVERS,
  defaultConfigPath,
  type Feature,
  LICENSE_TYPES,
  type LicenseClient,
  type LicenseError,
  type LicenseType,
  type LoadClientPropertiesOptions,
  loadClientProperties,
  type OpenPortError,
  type ParseClientPropertiesOptions,
  type ParseServerListOptions,
  parseClientProperties,
  parseServerList,
  type RedactedCredentials,
  type ReturnCodeValue,
  type ServerAddress,
  type TlsConfig,
} from '../../src/index.js';

describe('config public types', () => {
  it('parseClientProperties and loadClientProperties give ClientProperties', () => {
    expectTypeOf(parseClientProperties).parameters.toEqualTypeOf<
      [text: string, options?: ParseClientPropertiesOptions]
    >();
    expectTypeOf(parseClientProperties).returns.toEqualTypeOf<ClientProperties>();
    expectTypeOf(loadClientProperties).parameters.toEqualTypeOf<
      [path?: string, options?: LoadClientPropertiesOptions]
    >();
    expectTypeOf(loadClientProperties).returns.toEqualTypeOf<Promise<ClientProperties>>();
  });

  it('ClientProperties is read-only and precisely typed', () => {
    expectTypeOf<ClientProperties['licenseServers']>().toEqualTypeOf<readonly ServerAddress[]>();
    expectTypeOf<ClientProperties['licenseCachePeriod']>().toEqualTypeOf<number>();
    expectTypeOf<ClientProperties['licenseType']>().toEqualTypeOf<'Auto' | 'SpeechPort' | 'VoxLite'>();
    expectTypeOf<ClientProperties['delayedLicenseAcquisition']>().toEqualTypeOf<boolean>();
    expectTypeOf<ClientProperties['authentication']>().toEqualTypeOf<Credentials | undefined>();
    expectTypeOf<ClientProperties['tls']>().toEqualTypeOf<TlsConfig>();
    expectTypeOf<ClientProperties['warnings']>().toEqualTypeOf<readonly ConfigWarning[]>();
    expectTypeOf<ClientProperties['source']>().toEqualTypeOf<string>();
    expectTypeOf<Readonly<ClientProperties>>().toEqualTypeOf<ClientProperties>();
    const mutate = (options: ClientProperties): void => {
      // @ts-expect-error the server list is read-only
      options.licenseServers.push(options.licenseServers[0]);
      // @ts-expect-error the fields are read-only
      options.licenseCachePeriod = 1;
    };
    expectTypeOf(mutate).toBeFunction();
  });

  it('ServerAddress, ConfigWarning and TlsConfig', () => {
    expectTypeOf<ServerAddress>().toEqualTypeOf<{
      readonly host: string;
      readonly port: number;
      readonly tls: boolean;
      readonly entry: string;
      readonly line?: number;
    }>();
    expectTypeOf<ConfigWarning['code']>().toEqualTypeOf<ConfigWarningCode>();
    expectTypeOf<ConfigWarningCode>().toExtend<string>();
    expectTypeOf<'duplicate-server'>().toExtend<ConfigWarningCode>();
    expectTypeOf<'world-readable'>().toExtend<ConfigWarningCode>();
    expectTypeOf<ConfigWarning['line']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<TlsConfig>().toEqualTypeOf<{
      readonly caFile?: string;
      readonly certFile?: string;
      readonly keyFile?: string;
      readonly serverName?: string;
    }>();
  });

  it('LicenseType and LICENSE_TYPES', () => {
    expectTypeOf<LicenseType>().toEqualTypeOf<'Auto' | 'SpeechPort' | 'VoxLite'>();
    expectTypeOf(LICENSE_TYPES).toEqualTypeOf<readonly ['Auto', 'SpeechPort', 'VoxLite']>();
  });

  it('Credentials exposes the password only through a read-only getter', () => {
    const credentials = new Credentials('u', 'p');
    expectTypeOf(credentials.username).toEqualTypeOf<string>();
    expectTypeOf(credentials.password).toEqualTypeOf<string>();
    expectTypeOf(credentials.toJSON()).toEqualTypeOf<RedactedCredentials>();
    expectTypeOf<RedactedCredentials['password']>().toEqualTypeOf<'[redacted]'>();
    // @ts-expect-error the password cannot be assigned
    credentials.password = 'other';
  });

  it('parseServerList, defaults and paths', () => {
    expectTypeOf(parseServerList).parameters.toEqualTypeOf<
      [value: string, options?: ParseServerListOptions]
    >();
    expectTypeOf(parseServerList).returns.toEqualTypeOf<readonly ServerAddress[]>();
    expectTypeOf<ParseServerListOptions['defaultPort']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<typeof DEFAULT_LICENSE_PORT>().toEqualTypeOf<7569>();
    expectTypeOf<typeof DEFAULT_LICENSE_SERVERS>().toEqualTypeOf<'127.0.0.1:7569'>();
    expectTypeOf(defaultConfigPath).parameters.toEqualTypeOf<[platform?: NodeJS.Platform]>();
    expectTypeOf(defaultConfigPath).returns.toEqualTypeOf<string>();
  });

  it('options objects honour exactOptionalPropertyTypes', () => {
    expectTypeOf<ParseClientPropertiesOptions>().toEqualTypeOf<{ source?: string; fileMode?: number }>();
    expectTypeOf<LoadClientPropertiesOptions>().toEqualTypeOf<{
      env?: NodeJS.ProcessEnv;
      platform?: NodeJS.Platform;
    }>();
    // @ts-expect-error undefined is not a source
    const options: ParseClientPropertiesOptions = { source: undefined };
    expectTypeOf(options).toEqualTypeOf<ParseClientPropertiesOptions>();
  });
});

describe('Feature', () => {
  it('completes the vendor features and still takes any name', () => {
    expectTypeOf<'FULL'>().toMatchTypeOf<Feature>();
    expectTypeOf<'AMD'>().toMatchTypeOf<Feature>();
    expectTypeOf<'CUSTOM_POOL'>().toMatchTypeOf<Feature>();
    expectTypeOf<LicenseClient['acquire']>().parameter(0).toEqualTypeOf<Feature>();
  });
});

describe('return codes', () => {
  it('type code and status as the vendor table, so a switch over them is checked', () => {
    expectTypeOf<LicenseError['code']>().toEqualTypeOf<ReturnCodeValue>();
    expectTypeOf<OpenPortError['status']>().toEqualTypeOf<ReturnCodeValue>();
  });
});
