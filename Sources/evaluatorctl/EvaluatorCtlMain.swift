// evaluatorctl: the operator's tool. Everything lives in EvaluatorCLI.
import EvaluatorCLI

@main
enum Main {
    static func main() async {
        await EvaluatorCtl.main(nil)
    }
}
