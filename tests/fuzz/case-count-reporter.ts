import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

/** Prints the cases each test file ran (`npm run fuzz`: the contract suites' count per file). */
export default class CaseCountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const module of modules) {
      const cases = [...module.children.allTests()].filter((t) => t.result().state === "passed").length;
      console.log(`cases: ${relative(process.cwd(), module.moduleId)}: ${cases} passed`);
    }
  }
}
