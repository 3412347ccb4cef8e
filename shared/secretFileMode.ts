// One rule for every file that holds a secret (signing key, key-encryption key, escrow key): like ssh
// with private keys, a file other users can read is refused rather than used. POSIX modes only; on
// Windows the ACL is the control and Node reports no useful mode.

/** Why the file's mode is unsafe for a secret, or undefined when it is fine. */
export function secretFileModeIssue(
  mode: number,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (platform === 'win32' || (mode & 0o077) === 0) return undefined;
  return `it is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`;
}
