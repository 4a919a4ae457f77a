import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with node:crypto's scrypt, a memory-hard function: each guess costs an
 * attacker who stole the database 128·N·r bytes of memory and as much time as it costs us,
 * which rules out cheap GPU/ASIC guessing of human passwords.
 *
 * Parameters: N = 2^15, r = 8, p = 1 (32 MiB and about 50–100 ms per hash on a small server),
 * the values RFC 7914 and OWASP's password storage sheet give for interactive logins; a
 * 16-byte random salt per password (no two users share a hash, no precomputed tables); a
 * 64-byte key. They are stored with the hash (`scrypt$N$r$p$salt$key`), so a hash made with
 * other parameters still verifies. Verification compares with timingSafeEqual.
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 64;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }, keyLength: number): Promise<Buffer> {
  // Node refuses scrypt above maxmem (32 MiB by default); allow twice what these parameters need.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_PARAMS, KEY_BYTES);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const STORED = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{8,200})\$([A-Za-z0-9+/=]{16,400})$/;

/** Whether `password` matches a hash made by hashPassword; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = STORED.exec(stored);
  if (!match) return false;
  const [, n, r, p, salt, key] = match;
  const expected = Buffer.from(key!, 'base64');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  // Bounds keep a tampered row from making one login allocate gigabytes.
  if (params.N > 2 ** 20 || params.r > 32 || params.p > 16 || expected.length < 16) return false;
  const actual = await derive(password, Buffer.from(salt!, 'base64'), params, expected.length);
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password nobody knows: logins for a name that does not exist are checked
 * against it, so they take as long as logins of real users (no enumeration by timing).
 */
let decoyHash: Promise<string> | null = null;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(24).toString('base64'));
  return decoyHash;
}
