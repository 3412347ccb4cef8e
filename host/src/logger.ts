// Host log lines: `[time] level message`. Invocation lines carry the function name and invocation id,
// as Core Tools prints them. Set STRONGBOX_HOST_LOG=debug|info|warn|error (default info).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(level: LogLevel = 'info', write: (line: string) => void = defaultWrite): Logger {
  const threshold = ORDER[level];
  const emit = (l: LogLevel, msg: string): void => {
    if (ORDER[l] < threshold) return;
    write(`[${new Date().toISOString()}] ${l.padEnd(5)} ${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

function defaultWrite(line: string): void {
  process.stdout.write(line + '\n');
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const v = (value ?? 'info').toLowerCase();
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}
