import GitPipelineCLI

await GitPipeline.run(Array(CommandLine.arguments.dropFirst()))
