/**
 * A terminal for the questions the command line asks (cli/confirm.ts): it records each question and
 * gives the answer set. A test file replaces readline with it —
 * `vi.mock('node:readline/promises', () => import('#test/support/terminal.ts'))` — and reads and sets
 * {@link terminal} (the same module instance).
 */
export const terminal = { questions: [] as string[], answer: 'n' };

/** What `cli/confirm.ts` uses of `node:readline/promises`. */
export function createInterface(): { question(text: string): Promise<string>; close(): void } {
  return {
    question: (text) => {
      terminal.questions.push(text);
      return Promise.resolve(terminal.answer);
    },
    close: () => undefined,
  };
}
