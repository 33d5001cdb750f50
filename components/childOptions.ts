import type * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component's children. A component's own dependsOn does not hold back its
 * children, so each child that does not already wait on a sibling carries it.
 */
export function childOptions(parent: pulumi.ComponentResource, opts?: pulumi.ComponentResourceOptions): pulumi.CustomResourceOptions {
  return { parent, dependsOn: opts?.dependsOn };
}
