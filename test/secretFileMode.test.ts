import { secretFileModeIssue } from '../shared/secretFileMode';

describe('secretFileModeIssue', () => {
  it('accepts owner-only modes', () => {
    expect(secretFileModeIssue(0o100600, 'linux')).toBeUndefined();
    expect(secretFileModeIssue(0o100400, 'linux')).toBeUndefined();
  });

  it('refuses group or other access, naming the mode and the fix', () => {
    expect(secretFileModeIssue(0o100640, 'linux')).toBe(
      'it is readable by other users (mode 640); run chmod 600 on it',
    );
    expect(secretFileModeIssue(0o100604, 'darwin')).toMatch(/mode 604/);
  });

  it('does not judge POSIX modes on Windows, where ACLs apply', () => {
    expect(secretFileModeIssue(0o100666, 'win32')).toBeUndefined();
  });
});
