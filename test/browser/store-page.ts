// Bundled into a page by web.test.ts: runs the shared store behaviour (test/store/behaviour.ts) against
// IndexedDbStore on Chromium's own IndexedDB, through a minimal describe/it runner.
import { IndexedDbStore } from "../../src/store/browser.ts";
import { jsonOf, shouldBehaveLikeAStore, TEST_DEPLOYMENT } from "../store/behaviour.ts";

type Hook = () => unknown | Promise<unknown>;
interface Suite {
  name: string;
  tests: { name: string; run: Hook }[];
  suites: Suite[];
  beforeEach: Hook[];
  afterEach: Hook[];
}

// Mocha loads every file under test/ in Node too: the describe/it stand-ins are installed only when
// runStoreBehaviour runs (in the page), so loading this file changes nothing.
const root: Suite = { name: "", tests: [], suites: [], beforeEach: [], afterEach: [] };
let current = root;

function installRunner(): void {
  const g = globalThis as Record<string, unknown>;
  g.describe = (name: string, body: () => void) => {
    const suite: Suite = { name, tests: [], suites: [], beforeEach: [], afterEach: [] };
    current.suites.push(suite);
    const parent = current;
    current = suite;
    body();
    current = parent;
  };
  g.it = (name: string, run: Hook) => current.tests.push({ name, run });
  g.beforeEach = (hook: Hook) => current.beforeEach.push(hook);
  g.afterEach = (hook: Hook) => current.afterEach.push(hook);
  // The suite yields to the event loop with Node's setImmediate; a page has only timers.
  g.setImmediate ??= (callback: () => void) => setTimeout(callback, 0);
}

async function dump(name: string): Promise<string> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const names = Array.from({ length: db.objectStoreNames.length }, (_, i) => db.objectStoreNames.item(i) as string).sort();
  const tx = db.transaction(names, "readonly");
  const rows = await Promise.all(
    names.map(
      (store) =>
        new Promise<unknown[]>((resolve, reject) => {
          const request = tx.objectStore(store).getAll();
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        }),
    ),
  );
  db.close();
  return jsonOf(Object.fromEntries(names.map((store, i) => [store, rows[i]])));
}

export interface StoreBehaviourResult {
  passed: string[];
  failed: { name: string; error: string }[];
}

async function runSuite(suite: Suite, prefix: string, hooks: { before: Hook[]; after: Hook[] }, result: StoreBehaviourResult): Promise<void> {
  const before = [...hooks.before, ...suite.beforeEach];
  const after = [...suite.afterEach, ...hooks.after];
  for (const test of suite.tests) {
    const name = `${prefix}${test.name}`;
    try {
      for (const hook of before) await hook();
      try {
        await test.run();
      } finally {
        for (const hook of after) await hook();
      }
      result.passed.push(name);
    } catch (error) {
      result.failed.push({ name, error: String(error) });
    }
  }
  for (const child of suite.suites) await runSuite(child, `${prefix}${child.name} / `, { before, after }, result);
}

let databases = 0;
export async function runStoreBehaviour(): Promise<StoreBehaviourResult> {
  installRunner();
  shouldBehaveLikeAStore(
    async () => {
      const name = `behaviour-${databases++}`;
      const backend = await IndexedDbStore.open(name);
      const store = backend.forDeployment(TEST_DEPLOYMENT);
      return { store, backend, snapshot: () => dump(name), dispose: () => store.close() };
    },
    { propertyRuns: 15 },
  );
  const result: StoreBehaviourResult = { passed: [], failed: [] };
  await runSuite(root, "", { before: [], after: [] }, result);
  return result;
}

(globalThis as { runStoreBehaviour?: typeof runStoreBehaviour }).runStoreBehaviour = runStoreBehaviour;
