// dynalite ships no types; this is the part of its API the tests use.
declare module "dynalite" {
  import type { Server } from "http";
  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }
  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
