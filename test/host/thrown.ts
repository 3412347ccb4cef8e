// What a function threw, for asserting error codes with toMatchObject (errors carry string codes).
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('Expected the function to throw, but it returned');
}
