// The node helper lives with the scripts (the web demo starts one too); tests import it from here.
export * from "../../scripts/lib/hardhat-node.ts";
