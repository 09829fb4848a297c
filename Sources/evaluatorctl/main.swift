// evaluatorctl: the operator's tool. Everything lives in EvaluatorCLI.
import EvaluatorCLI

await EvaluatorCtl.main()
