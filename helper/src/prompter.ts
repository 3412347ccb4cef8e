// The Prompter port: the questions the helper asks. The terminal adapter uses @inquirer/prompts
// (it touches the TTY only when a question is asked, so non-interactive runs never do); tests can script answers.
import * as inquirer from '@inquirer/prompts';

export interface Prompter {
  input(message: string, defaultValue?: string): Promise<string>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean>;
  select(message: string, choices: readonly string[]): Promise<string>;
  password(message: string): Promise<string>;
}

export function inquirerPrompter(): Prompter {
  return {
    input: (message, defaultValue) =>
      inquirer.input({ message, ...(defaultValue !== undefined ? { default: defaultValue } : {}) }),
    confirm: (message, defaultValue) => inquirer.confirm({ message, default: defaultValue ?? false }),
    select: (message, choices) =>
      inquirer.select({ message, choices: choices.map((c) => ({ name: c, value: c })) }),
    password: (message) => inquirer.password({ message, mask: '*' }),
  };
}
