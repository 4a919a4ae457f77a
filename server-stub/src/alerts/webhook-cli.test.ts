import { describe, expect, it } from 'vitest';
import { optionsFromCommandLine, UsageError } from '../cli.js';

const options = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = optionsFromCommandLine(argv, env);
  if (parsed.help) throw new Error('help');
  return parsed.options;
};

describe('the alert webhook on the command line', () => {
  it('takes the URL from the flag or the environment and the secret from the environment only', () => {
    expect(options([]).alerts).toBeUndefined();
    expect(options(['--alert-webhook-url', 'https://hooks.example.org/a']).alerts).toEqual({
      webhookUrl: 'https://hooks.example.org/a',
      webhookSecret: null,
    });
    expect(
      options([], { AIRPANEL_ALERT_WEBHOOK_URL: 'http://127.0.0.1:9000/h', AIRPANEL_ALERT_WEBHOOK_SECRET: 'sixteen-chars-or-more' }).alerts,
    ).toEqual({ webhookUrl: 'http://127.0.0.1:9000/h', webhookSecret: 'sixteen-chars-or-more' });
    expect(() => optionsFromCommandLine(['--alert-webhook-secret', 'x'], {})).toThrow(/alert-webhook-secret/);
  });

  it('refuses a URL that is not http(s) or carries credentials, a short secret, a secret without a URL', () => {
    expect(() => options(['--alert-webhook-url', 'ftp://example.org/h'])).toThrow(UsageError);
    expect(() => options(['--alert-webhook-url', 'https://u:p@example.org/h'])).toThrow(UsageError);
    expect(() => options(['--alert-webhook-url', 'https://example.org/h'], { AIRPANEL_ALERT_WEBHOOK_SECRET: 'short' })).toThrow(
      /16 to 256/,
    );
    expect(() => options([], { AIRPANEL_ALERT_WEBHOOK_SECRET: 'sixteen-chars-or-more' })).toThrow(/no --alert-webhook-url/);
  });
});
