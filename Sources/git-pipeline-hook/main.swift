import HookClient

HookClient.run()
