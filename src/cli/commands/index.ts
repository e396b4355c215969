import type { CommandModule } from 'yargs';

/** Every CLI command, one module per file in this folder. */
// biome-ignore lint/suspicious/noExplicitAny: yargs command modules differ in their argument types
export const commands: ReadonlyArray<CommandModule<any, any>> = [];
