/** The console sub-app's bindings and request-scoped values: the signed-in session. */
import type { Bindings } from "../env";
import type { Session } from "./session";

export type ConsoleEnv = { Bindings: Bindings; Variables: { session: Session } };
