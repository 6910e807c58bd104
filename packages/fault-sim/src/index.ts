/** `@chat3/fault-sim`: the deterministic fault simulation of the relay and builder. */
export * from './checker';
export * from './faults';
export * from './run';
export * from './scenarios';
export * from './sweep';
export * from './virtual-time';
export * from './workload';
export * from './world';
