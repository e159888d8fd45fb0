/** Test-only helpers (`@kubemu/api/testing`): resolved from source by the test runner, never built into dist. */
export * from './poll.js';
