// A module imported as './dep.js' from a .ts file, as TypeScript's NodeNext style writes it.
export interface Shape {
  side: number;
}
export const area = (s: Shape): number => s.side * s.side;
