/** DI token of the operator's clock (epoch milliseconds), so unit tests can move time. */
export const CLOCK = Symbol('CLOCK');
export type Clock = () => number;
