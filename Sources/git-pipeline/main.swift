import GitPipelineCLI

GitPipeline.main(Array(CommandLine.arguments.dropFirst()))
