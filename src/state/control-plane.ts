/** The control-plane Durable Object: the one writer of the authoritative state (filled in by the admin API). */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";

export class ControlPlane extends DurableObject<Bindings> {}
