import PipelineHook

HookMain.run()
