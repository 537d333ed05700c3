import { literalRuleScenario } from './literal-rule.ts'

// Prints the scenario's outcome as JSON (run against a mutant build by the test).
try {
  console.log(JSON.stringify(literalRuleScenario()))
} catch (error) {
  console.log(JSON.stringify({ error: String(error instanceof Error ? error.message : error) }))
}
