/**
 * An error a technician can act on: the message says what is wrong and what to do.
 * The CLI prints only the message (no stack) and exits with `exitCode`.
 */
export class ProvisionError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** Wrong command line: exit code 2, like most Unix tools. */
export class UsageError extends ProvisionError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
