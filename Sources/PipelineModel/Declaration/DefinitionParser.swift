import Yams

/// Reads a pipeline definition (SPEC §3) from YAML text and validates it. Pure: it sees only the text.
public struct DefinitionParser: YAMLReading {
    /// Providers that run here, by category, and the AWS providers mapped to them (SPEC §6).
    public static let providers: [ActionCategory: [String]] = [
        .source: ["Git"],
        .build: ["Buildspec", "Commands"],
        .test: ["Buildspec", "Commands"],
        .compute: ["Commands"],
        .approval: ["Manual"],
        .invoke: ["Command"],
        .deploy: ["Directory"],
    ]
    public static let awsProviderMap: [String: String] = [
        "CodeCommit": "Git", "CodeStarSourceConnection": "Git", "GitHub": "Git", "CodeBuild": "Buildspec",
        "Lambda": "Command", "CodeDeploy": "Directory",
    ]
    /// CodePipeline providers with no local equivalent: a definition naming one is accepted with a
    /// warning (AWS users bring whole pipelines), and the action fails, saying so, if it runs.
    public static let unmappedAWSProviders: Set<String> = [
        "S3", "ECR", "ElasticBeanstalk", "ECS", "CodeDeployToECS", "CloudFormation", "CloudFormationStackSet",
        "CloudFormationStackInstances", "ServiceCatalog", "AlexaSkillsKit", "DeviceFarm", "StepFunctions", "AppConfig",
        "Snyk", "Jenkins", "GitHubEnterpriseServer", "BitbucketCloud", "GitLab", "GitLabSelfManaged", "EC2", "EKS",
        "InspectorScan", "ECRBuildAndPublish", "CodeStarSourceConnectionV2", "CodeGuruReviewer", "BlackDuck", "GhostInspector",
        "Runscope", "ThirdParty", "SNS",
    ]

    static let pipelineKeys = ["name", "executionMode", "pipelineType", "variables", "triggers", "stages", "version", "network", "notifications"]
    static let awsOnlyPipelineKeys = ["roleArn", "artifactStore", "artifactStores", "restartExecutionOnUpdate",
                                      "disableInboundStageTransitions", "tags"]
    static let stageKeys = ["name", "actions", "onFailure"]
    static let awsOnlyStageKeys = ["blockers", "beforeEntry", "onSuccess"]
    static let actionKeys = ["name", "category", "provider", "runOrder", "configuration", "commands", "outputVariables",
                             "inputArtifacts", "outputArtifacts", "namespace", "timeoutInMinutes", "actionTypeId", "approvers"]
    static let awsOnlyActionKeys = ["region", "roleArn", "owner", "version"]

    /// Raised whenever what a definition parses to changes (1: source branches became push
    /// filters; 2: `notifications:`): the store's cache of parsed definitions keeps the revision of each row.
    public static let revision = 2

    public let file: String
    var diagnostics: [Diagnostic] = []
    /// Allowed keys that a misspelt key in the last mapping read probably meant; their absence is
    /// then not reported again.
    var misspelt: Set<String> = []
    /// The pipeline's declared name, even when the rest does not validate.
    private var declaredName: String?
    /// A CloudFormation template's Parameters with a `Default`, by name: what `!Ref` and `!Sub`
    /// of them read here.
    var templateParameters: [String: String] = [:]

    public init(file: String) { self.file = file }

    /// Parses `text`; `defaultName` names the pipeline when the file does not.
    public static func parse(_ text: String, file: String, defaultName: String) throws(DefinitionError) -> PipelineDeclaration {
        var parser = DefinitionParser(file: file)
        // Parse first: the receiver of `outcome` must be the parser after parsing.
        let result = parser.parse(text, defaultName: defaultName)
        switch parser.outcome(result, empty: emptyMessage, fix: emptyFix) {
        case .success(let (parsed, warnings)):
            var declaration = parsed
            declaration.warnings = warnings
            return declaration
        case .failure(let failure): throw DefinitionError(pipelineName: parser.declaredName, failure.diagnostics)
        }
    }

    mutating func name(_ node: Node?, _ what: String, parent: Node) -> String? {
        guard let node else {
            error(parent, "\(what) has no `name`", fix: "add `name: …`")
            return nil
        }
        guard let text = string(node, "\(what) name") else { return nil }
        if text.hasPrefix("%") && text.hasSuffix("%") || text.contains("${") || text.contains("{{") {
            warning(node, "\(what) name `\(text)` is a template placeholder, not substituted here",
                    fix: "fill in the template before using the file")
            return what == "the pipeline" ? nil : text.filter { $0.isLetter || $0.isNumber || "._-@".contains($0) }
        }
        let allowed = text.allSatisfy { $0.isLetter || $0.isNumber || "._-@".contains($0) }
        if text.isEmpty || text.count > 100 || !allowed {
            error(node, "\(what) name `\(text)` is not valid", fix: "use 1–100 letters, digits, and . _ - @ (CodePipeline's rule)")
        }
        return text
    }

    // MARK: Parsing

    mutating func parse(_ text: String, defaultName: String) -> PipelineDeclaration? {
        guard let document = composeDocument(text) else { return nil }
        // CodePipeline's own JSON and CloudFormation templates are read in the native shape.
        let imported = importedPipelines(document)
        if let imported, imported.count > 1 {
            warning(imported[1], "this template declares \(imported.count) pipelines; only the first runs from this file",
                    fix: "give each pipeline a file of its own in .pipelines/")
        }
        guard let root = imported?.first ?? (isForeign(document) ? nil : document) else { return nil }
        return parse(root: root, defaultName: defaultName)
    }

    static let emptyMessage = "the definition is empty", emptyFix = "add `stages:` with at least one stage"

    /// Every pipeline of a document (a CloudFormation template may hold several), for `lint`.
    public static func check(_ text: String, file: String, defaultName: String) -> [Diagnostic] {
        var parser = DefinitionParser(file: file)
        // An empty (or comment-only) file fails a push with this error: lint says the same.
        guard let document = parser.composeDocument(text) else {
            return parser.diagnostics.isEmpty ? [Diagnostic(.error, parser.location(nil), emptyMessage, fix: emptyFix)] : parser.diagnostics
        }
        var roots: [Node] = []
        if let imported = parser.importedPipelines(document) { roots = imported } else if !parser.isForeign(document) { roots = [document] }
        for root in roots {
            guard let declaration = parser.parse(root: root, defaultName: defaultName) else { continue }
            parser.noteSourceBranches(declaration, at: root)
        }
        return parser.diagnostics
    }

    /// lint says which branches a pipeline without triggers runs for when its sources name them.
    mutating func noteSourceBranches(_ declaration: PipelineDeclaration, at root: Node) {
        let branches = declaration.sourceBranches
        guard declaration.triggers.isEmpty, !branches.isEmpty else { return }
        let source = declaration.actions.first { $0.category == .source && ($0.configuration["BranchName"] ?? $0.configuration["Branch"]) != nil }
        let names = branches.map { "`\($0)`" }.joined(separator: ", ")
        diagnostics.append(Diagnostic(.note, source?.location ?? location(root),
                                      "pipeline `\(declaration.name)` runs for pushes to \(branches.count == 1 ? "branch" : "branches") \(names) only: " +
                                      "its Source's configuration.BranchName, as CodePipeline runs a pipeline without triggers",
                                      fix: "add `triggers` to run it for other branches or tags"))
    }

    /// The YAML (or JSON) document; a `.json` file must also be a JSON object and strict JSON,
    /// which YAML alone would not check (a file without its outer braces still reads as YAML).
    mutating func composeDocument(_ text: String) -> Node? {
        if file.hasSuffix(".json"), let first = text.first(where: { !$0.isWhitespace }), first != "{" {
            let line = text.prefix { $0 != first }.filter(\.isNewline).count + 1
            diagnostics.append(Diagnostic(.error, SourceLocation(file: file, line: line, column: 1),
                                          "not valid JSON: the document must be one object, starting with `{`",
                                          fix: "wrap the content in `{ … }` (as `aws codepipeline get-pipeline` prints it)"))
            return nil
        }
        // YAML reads JSON with trailing commas and comments; AWS rejects such a file.
        if file.hasSuffix(".json"), let problem = StrictJSON.check(text, file: file) {
            diagnostics.append(problem)
            return nil
        }
        return compose(text)
    }

    mutating func parse(root: Node, defaultName: String) -> PipelineDeclaration? {
        guard let top = entries(root, "the pipeline", allowed: Self.pipelineKeys, ignoredWithWarning: Self.awsOnlyPipelineKeys) else { return nil }

        let pipelineName = top["name"].flatMap { name($0.value, "the pipeline", parent: root) } ?? defaultName
        if top["name"] != nil { declaredName = pipelineName }
        let topMisspelt = misspelt
        var mode = ExecutionMode.superseded
        if let node = top["executionMode"]?.value, let text = string(node, "executionMode") {
            if let value = ExecutionMode(rawValue: text.uppercased()) { mode = value } else {
                error(node, "executionMode `\(text)` is not one of SUPERSEDED, QUEUED, PARALLEL")
            }
        }
        if let node = top["pipelineType"]?.value, let text = string(node, "pipelineType"), text != "V2", text != "V1" {
            error(node, "pipelineType `\(text)` is not V1 or V2")
        }
        var network: String?
        if let node = top["network"]?.value, let text = string(node, "network") {
            if ["none", "on"].contains(text.lowercased()) { network = text.lowercased() } else {
                error(node, "network `\(text)` is not `none` or `on`", fix: "write `network: none` to cut the actions off the network")
            }
        }
        let variables = parseVariables(top["variables"]?.value)
        let triggers = parseTriggers(top["triggers"]?.value)
        var stages: [Stage] = []
        if let stagesNode = top["stages"]?.value {
            let items = list(stagesNode, "stages")
            if items.isEmpty { error(stagesNode, "`stages` is empty", fix: "add at least one stage with actions") }
            for item in items { if let stage = parseStage(item) { stages.append(stage) } }
        } else if !topMisspelt.contains("stages") {
            error(root, "the pipeline has no `stages`", fix: "add `stages:` with a list of stages, each with `name` and `actions`")
        }
        addImplicitSource(&stages)
        checkGraph(stages, stageNodes: top["stages"].map { list($0.value, "stages") } ?? [])
        checkSourceVariables(stages)
        checkCloneConsumers(stages)
        var declaration = PipelineDeclaration(name: pipelineName, executionMode: mode, variables: variables, triggers: triggers, stages: stages)
        declaration.network = network
        if let node = top["notifications"]?.value { declaration.notifications = parseNotifications(node) }
        return declaration
    }

    static let notificationKeys = ["name", "detailType", "state", "stage", "action", "webhook", "format", "mail", "command"]

    /// `notifications:`, a list of rules with the keys of git config's `notification.NAME.*`; each
    /// key takes one value or a list.
    mutating func parseNotifications(_ node: Node) -> [NotificationDeclaration] {
        var rules: [NotificationDeclaration] = []
        for item in list(node, "notifications") {
            guard let fields = entries(item, "a notification", allowed: Self.notificationKeys) else { continue }
            guard let ruleName = name(fields["name"]?.value, "a notification", parent: item) else { continue }
            if rules.contains(where: { $0.name == ruleName }) { error(item, "notification `\(ruleName)` is declared twice") }
            func values(_ key: String) -> [(node: Node, text: String)] {
                guard let value = fields[key]?.value else { return [] }
                if case .sequence = value { return list(value, key).compactMap { node in string(node, key).map { (node, $0) } } }
                return string(value, key).map { [(value, $0)] } ?? []
            }
            var rule = NotificationDeclaration(name: ruleName)
            for (node, text) in values("detailType") {
                if NotificationDeclaration.detailTypes.contains(text) { rule.detailTypes.append(text) } else {
                    error(node, "detailType `\(text)` is not one CodePipeline sends", fix: "use one of: \(NotificationDeclaration.detailTypes.joined(separator: "; "))")
                }
            }
            for (node, text) in values("state") {
                if NotificationDeclaration.states.contains(text.uppercased()) { rule.states.append(text.uppercased()) } else {
                    error(node, "state `\(text)` is not an event state", fix: "use one of \(NotificationDeclaration.states.joined(separator: ", "))")
                }
            }
            rule.stages = values("stage").map(\.text)
            rule.actions = values("action").map(\.text)
            for (node, text) in values("webhook") {
                if text.hasPrefix("http://") || text.hasPrefix("https://") { rule.webhooks.append(text) } else {
                    error(node, "webhook `\(text)` is not an http:// or https:// URL")
                }
            }
            for (node, text) in values("mail") {
                if NotificationDeclaration.isMailAddress(text) { rule.mail.append(text) } else {
                    error(node, "mail `\(text.unicodeScalars.map { $0.value < 32 ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined())` is not one address like dev@example.com")
                }
            }
            if let node = fields["format"]?.value, let text = string(node, "format") {
                if text.lowercased() == "slack" { rule.format = "slack" } else { error(node, "format `\(text)` is not `slack`", fix: "leave it out for the event's JSON") }
            }
            if let command = fields["command"] {
                error(command.key, "a definition's notification may not run a command on the server",
                      fix: "send it to a webhook or mail, or ask the server's admin for `git config notification.\(ruleName).command …`")
            }
            if fields["webhook"] == nil && fields["mail"] == nil && fields["command"] == nil {
                error(item, "notification `\(ruleName)` sends nowhere", fix: "add `webhook: URL` or `mail: ADDRESS`")
            }
            rules.append(rule)
        }
        return rules
    }

    mutating func parseVariables(_ node: Node?) -> [PipelineVariable] {
        var result: [PipelineVariable] = []
        for item in list(node, "variables") {
            guard let fields = entries(item, "a variable", allowed: ["name", "defaultValue", "description"]) else { continue }
            guard let name = name(fields["name"]?.value, "a variable", parent: item) else { continue }
            if result.contains(where: { $0.name == name }) { error(item, "variable `\(name)` is declared twice") }
            result.append(PipelineVariable(name: name, defaultValue: string(fields["defaultValue"]?.value, "defaultValue"),
                                           description: string(fields["description"]?.value, "description")))
        }
        return result
    }

    mutating func parseTriggers(_ node: Node?) -> [Trigger] {
        var result: [Trigger] = []
        for item in list(node, "triggers") {
            guard let fields = entries(item, "a trigger", allowed: ["providerType", "gitConfiguration"]) else { continue }
            guard let git = fields["gitConfiguration"]?.value else {
                error(item, "a trigger has no `gitConfiguration`", fix: "add `gitConfiguration: {push: [{branches: {includes: [main]}}]}`")
                continue
            }
            guard let gitFields = entries(git, "gitConfiguration", allowed: ["sourceActionName", "push", "pullRequest"]) else { continue }
            if let pr = gitFields["pullRequest"] {
                warning(pr.key, "pull request triggers have no meaning in a bare repository; ignored")
            }
            var filters: [PushFilter] = []
            for entry in list(gitFields["push"]?.value, "push") {
                guard let f = entries(entry, "a push filter", allowed: ["branches", "tags", "filePaths"]) else { continue }
                let filter = PushFilter(branches: patternFilter(f["branches"]?.value, "branches"),
                                        tags: patternFilter(f["tags"]?.value, "tags"),
                                        filePaths: patternFilter(f["filePaths"]?.value, "filePaths"))
                if filter.branches != nil && filter.tags != nil {
                    error(entry, "a push filter names both branches and tags", fix: "use two push entries, one for branches and one for tags")
                }
                filters.append(filter)
            }
            result.append(Trigger(push: filters))
        }
        return result
    }

    mutating func patternFilter(_ node: Node?, _ what: String) -> PatternFilter? {
        guard let node else { return nil }
        guard let f = entries(node, what, allowed: ["includes", "excludes"]) else { return nil }
        let includes = list(f["includes"]?.value, "\(what).includes").compactMap { string($0, "a pattern") }
        let excludes = list(f["excludes"]?.value, "\(what).excludes").compactMap { string($0, "a pattern") }
        return PatternFilter(includes: includes, excludes: excludes)
    }

    mutating func parseStage(_ node: Node) -> Stage? {
        guard let fields = entries(node, "a stage", allowed: Self.stageKeys, ignoredWithWarning: Self.awsOnlyStageKeys) else { return nil }
        let stageMisspelt = misspelt
        let stageName = name(fields["name"]?.value, "a stage", parent: node) ?? "?"
        var onFailure: String?
        if let failure = fields["onFailure"]?.value, let f = entries(failure, "onFailure", allowed: ["result", "conditions", "retryConfiguration"]) {
            onFailure = string(f["result"]?.value, "onFailure.result")
            if let result = onFailure, !["ROLLBACK", "RETRY", "FAIL", "SKIP"].contains(result.uppercased()) {
                error(f["result"]?.value, "onFailure.result `\(result)` is not ROLLBACK, RETRY or FAIL")
            } else if onFailure?.uppercased() == "SKIP" {
                warning(f["result"]?.value, "onFailure SKIP is not supported here; the stage fails as with FAIL")
            }
        }
        var actions: [Action] = []
        guard let actionsNode = fields["actions"]?.value else {
            if stageMisspelt.contains("actions") { return Stage(name: stageName, actions: [], onFailureResult: onFailure) }
            error(node, "stage `\(stageName)` has no `actions`", fix: "add `actions:` with at least one action")
            return Stage(name: stageName, actions: [], onFailureResult: onFailure)
        }
        let items = list(actionsNode, "actions")
        if items.isEmpty { error(actionsNode, "stage `\(stageName)` has no actions", fix: "add at least one action") }
        for item in items { if let action = parseAction(item, stage: stageName) { actions.append(action) } }
        return Stage(name: stageName, actions: actions, onFailureResult: onFailure)
    }

    mutating func parseAction(_ node: Node, stage: String) -> Action? {
        guard let f = entries(node, "an action", allowed: Self.actionKeys, ignoredWithWarning: Self.awsOnlyActionKeys) else { return nil }
        let actionMisspelt = misspelt
        let actionName = name(f["name"]?.value, "an action in stage `\(stage)`", parent: node) ?? "?"
        var category = ActionCategory.build
        // CodePipeline's JSON names the type in `actionTypeId` (category, owner, provider, version).
        var typeFields: [String: (key: Node, value: Node)] = [:]
        if let typeNode = f["actionTypeId"]?.value {
            typeFields = entries(typeNode, "actionTypeId", allowed: ["category", "owner", "provider", "version"]) ?? [:]
        }
        let categoryNode = f["category"]?.value ?? typeFields["category"]?.value
        let providerNode = f["provider"]?.value ?? typeFields["provider"]?.value
        if let node = categoryNode, let text = string(node, "category") {
            if let value = ActionCategory(rawValue: text) { category = value } else {
                let hint = closestMatch(to: text, in: ActionCategory.allCases.map(\.rawValue)).map { "did you mean `\($0)`?" }
                error(node, "unknown category `\(text)` in action `\(actionName)`",
                      fix: hint ?? "use one of \(ActionCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        } else if !actionMisspelt.contains("category") {
            error(node, "action `\(actionName)` has no `category`", fix: "add `category: Build` (or Source, Test, Deploy, Approval, Invoke, Compute)")
        }
        var provider = ""
        if let node = providerNode, let text = string(node, "provider") {
            provider = Self.awsProviderMap[text] ?? text
            let known = Self.providers[category] ?? []
            if !known.contains(provider) {
                if Self.unmappedAWSProviders.contains(text) {
                    warning(node, "provider `\(text)` (\(category.rawValue)) has no local equivalent; action `\(actionName)` will fail if it runs",
                            fix: "replace it with \(known.isEmpty ? "a Commands action" : known.joined(separator: " or ")) to run it here")
                } else {
                    let all = Self.providers.values.flatMap { $0 }
                    let hint = closestMatch(to: text, in: known.isEmpty ? all : known).map { "did you mean `\($0)`?" }
                    error(node, "unknown provider `\(text)` for category \(category.rawValue)",
                          fix: hint ?? "providers for \(category.rawValue): \(known.isEmpty ? "none yet" : known.joined(separator: ", "))")
                }
            }
        } else if !actionMisspelt.contains("provider") {
            error(node, "action `\(actionName)` has no `provider`",
                  fix: "add `provider: \((Self.providers[category] ?? ["Commands"]).first!)`")
        }
        let runOrder = f["runOrder"].flatMap { integer($0.value, "runOrder", range: 1...999) } ?? 1
        let timeout = f["timeoutInMinutes"].flatMap { integer($0.value, "timeoutInMinutes", range: 1...10080) }
            ?? (category == .approval ? 10080 : 60)  // CodePipeline: an approval waits up to 7 days
        var configuration: [String: String] = [:]
        if let config = f["configuration"]?.value {
            if case .mapping(let mapping) = config {
                for (key, value) in mapping {
                    guard let k = key.string else { continue }
                    if let v = string(value, "configuration value `\(k)`") { configuration[k] = v }
                }
            } else {
                error(config, "`configuration` must be a mapping of names to values")
            }
        }
        let commandNodes = list(f["commands"]?.value, "commands")
        commandNodes.forEach { warnIfCutByComment($0) }
        let commands = commandNodes.compactMap { string($0, "a command") }
        if provider == "Commands" && commands.isEmpty && !actionMisspelt.contains("commands") {
            error(f["commands"]?.value ?? node, "Commands action `\(actionName)` has no commands", fix: "add `commands:` with a list of shell commands")
        }
        if let network = configuration["Network"], !["none", "on"].contains(network.lowercased()) {
            error(f["configuration"]?.value, "configuration.Network `\(network)` is not `none` or `on`",
                  fix: "write `Network: none` to cut the action off the network, or leave it out")
        }
        if provider == "Git", let format = configuration["OutputArtifactFormat"], format != "CODE_ZIP" {
            if format != "CODEBUILD_CLONE_REF" && format != "CLONE_REF" {
                error(f["configuration"]?.value, "OutputArtifactFormat `\(format)` is not CODE_ZIP or CODEBUILD_CLONE_REF")
            }
        }
        let outputVariables = list(f["outputVariables"]?.value, "outputVariables").compactMap { string($0, "an output variable") }
        let inputs = list(f["inputArtifacts"]?.value, "inputArtifacts").compactMap { artifactName($0) }
        var outputs: [OutputArtifact] = []
        for item in list(f["outputArtifacts"]?.value, "outputArtifacts") {
            if case .mapping = item {
                guard let o = entries(item, "an output artifact", allowed: ["name", "files"]) else { continue }
                guard let n = name(o["name"]?.value, "an output artifact", parent: item) else { continue }
                let files = o["files"].map { list($0.value, "files").compactMap { string($0, "a file pattern") } }
                outputs.append(OutputArtifact(name: n, files: files))
            } else if let n = string(item, "an output artifact") {
                outputs.append(OutputArtifact(name: n, files: nil))
            }
        }
        if category == .source && outputs.isEmpty { outputs = [OutputArtifact(name: "SourceArtifact", files: nil)] }
        let namespace = f["namespace"].flatMap { string($0.value, "namespace") }
        var approvers: [String]?
        if let node = f["approvers"]?.value {
            approvers = list(node, "approvers").compactMap { string($0, "an approver") }
            if category != .approval {
                error(node, "approvers is for Approval actions only", fix: "remove it, or make the action category: Approval")
            } else if approvers?.isEmpty == true {
                error(node, "approvers is empty: nobody could decide this approval", fix: "name users or @groups, or remove approvers to let anyone decide")
            }
        }
        return Action(name: actionName, category: category, provider: provider, runOrder: runOrder, configuration: configuration,
                      commands: commands, outputVariables: outputVariables, inputArtifacts: inputs, outputArtifacts: outputs,
                      namespace: namespace, timeoutInMinutes: timeout, location: location(node), approvers: approvers)
    }

    mutating func artifactName(_ node: Node) -> String? {
        if case .mapping = node {
            guard let f = entries(node, "an input artifact", allowed: ["name"]) else { return nil }
            return string(f["name"]?.value, "an input artifact name")
        }
        return string(node, "an input artifact")
    }

    /// SPEC §3: a definition without a Source stage gets one (stage Source, action Source, SourceArtifact).
    mutating func addImplicitSource(_ stages: inout [Stage]) {
        guard !stages.contains(where: { $0.actions.contains { $0.category == .source } }) else { return }
        let source = Action(name: "Source", category: .source, provider: "Git", runOrder: 1, configuration: [:], commands: [],
                            outputVariables: [], inputArtifacts: [], outputArtifacts: [OutputArtifact(name: "SourceArtifact", files: nil)],
                            namespace: "SourceVariables", timeoutInMinutes: 60, location: nil)
        stages.insert(Stage(name: "Source", actions: [source], onFailureResult: nil), at: 0)
        // An action that names no input reads the source, as most users mean.
        for s in stages.indices where s > 0 {
            for a in stages[s].actions.indices where stages[s].actions[a].inputArtifacts.isEmpty && stages[s].actions[a].category != .approval {
                stages[s].actions[a].inputArtifacts = ["SourceArtifact"]
            }
        }
    }

    /// Names unique, sources only first, every input produced earlier.
    /// The variables a Git source action gives its namespace (SPEC §5).
    public static let sourceVariables = ["CommitId", "CommitMessage", "AuthorDate", "CommitterDate", "BranchName", "RepositoryName"]

    /// CodePipeline hands a CODEBUILD_CLONE_REF artifact to CodeBuild actions only; any other
    /// consumer gets the clone here, which would fail on AWS: say so.
    mutating func checkCloneConsumers(_ stages: [Stage]) {
        let clones = Set(stages.flatMap(\.actions).filter { $0.provider == "Git" && ["CODEBUILD_CLONE_REF", "CLONE_REF"].contains($0.configuration["OutputArtifactFormat"] ?? "") }
            .flatMap { $0.outputArtifacts.map(\.name) })
        guard !clones.isEmpty else { return }
        for action in stages.flatMap(\.actions) where action.provider != "Buildspec" && action.provider != "Git" {
            for input in action.inputArtifacts where clones.contains(input) {
                diagnostics.append(Diagnostic(.warning, action.location ?? SourceLocation(file: file, line: 1, column: 1),
                                              "action `\(action.name)` (\(action.category.rawValue)/\(action.provider)) takes `\(input)`, a CODEBUILD_CLONE_REF artifact: " +
                                              "CodePipeline gives those to CodeBuild actions only; here it gets the clone all the same",
                                              fix: "use a CodeBuild (Buildspec) action, or CODE_ZIP, for a pipeline that must also run on AWS"))
            }
        }
    }

    /// `#{NS.Name}` of a Git source action's namespace must name one of its variables: the
    /// execution would fail on it at run time.
    mutating func checkSourceVariables(_ stages: [Stage]) {
        let sources = Set(stages.flatMap(\.actions).filter { $0.provider == "Git" }.compactMap(\.namespace))
        guard !sources.isEmpty else { return }
        for action in stages.flatMap(\.actions) {
            let texts = action.commands + action.configuration.keys.sorted().compactMap { action.configuration[$0] }
            var reported: Set<String> = []
            for text in texts {
                var rest = text[...]
                while let open = rest.range(of: "#{"), let close = rest[open.upperBound...].firstIndex(of: "}") {
                    let reference = rest[open.upperBound..<close]
                    rest = rest[rest.index(after: close)...]
                    let parts = reference.split(separator: ".", maxSplits: 1)
                    guard parts.count == 2, sources.contains(String(parts[0])), !Self.sourceVariables.contains(String(parts[1])),
                          reported.insert(String(reference)).inserted else { continue }
                    diagnostics.append(Diagnostic(.error, action.location ?? SourceLocation(file: file, line: 1, column: 1),
                                                  "action `\(action.name)` uses #{\(reference)}, which the source does not set",
                                                  fix: "use one of " + Self.sourceVariables.map { "#{\(parts[0]).\($0)}" }.joined(separator: ", ")))
                }
            }
        }
    }

    mutating func checkGraph(_ stages: [Stage], stageNodes: [Node]) {
        let offset = stages.count - stageNodes.count  // 1 when the Source stage was added
        func node(_ stageIndex: Int) -> Node? {
            let i = stageIndex - offset
            return i >= 0 && i < stageNodes.count ? stageNodes[i] : nil
        }
        var stageNames: Set<String> = []
        var produced: [String: (stage: Int, runOrder: Int)] = [:]
        var namespaces: Set<String> = []
        for (index, stage) in stages.enumerated() {
            if !stageNames.insert(stage.name).inserted {
                error(node(index), "stage name `\(stage.name)` is used twice", fix: "give each stage its own name")
            }
            var actionNames: Set<String> = []
            // Within a stage, an action sees the outputs of lower runOrders only: check each
            // runOrder group's inputs before its own outputs are known.
            for group in stage.runOrderGroups {
                for action in group {
                    let at = action.location ?? location(node(index))
                    func report(_ message: String, fix: String?) {
                        diagnostics.append(Diagnostic(.error, at, message, fix: fix))
                    }
                    if !actionNames.insert(action.name).inserted {
                        report("action name `\(action.name)` is used twice in stage `\(stage.name)`", fix: "give each action in a stage its own name")
                    }
                    if action.category == .source && index != 0 {
                        report("Source action `\(action.name)` is in stage `\(stage.name)`, not the first stage",
                               fix: "move it to the first stage: CodePipeline runs sources only there")
                    }
                    if index == 0 && action.category != .source {
                        report("the first stage holds only Source actions, but `\(action.name)` is \(action.category.rawValue)",
                               fix: "move `\(action.name)` to a later stage")
                    }
                    for input in action.inputArtifacts where produced[input] == nil {
                        // Produced, but not before this action (later, at the same time, or by itself: a
                        // cycle): say by whom, rather than suggest the very name that was written.
                        let producer = stages.flatMap { stage in stage.actions.map { (stage, $0) } }
                            .first { $0.1.outputArtifacts.contains { $0.name == input } }
                        let hint: String? = if let (where_, by) = producer {
                            by.name == action.name && where_.name == stage.name
                                ? "`\(action.name)` cannot take its own output: give it another input, or produce `\(input)` in an earlier action"
                                : "`\(input)` is produced by `\(by.name)` (stage `\(where_.name)`, runOrder \(by.runOrder)), which does not run before " +
                                  "`\(action.name)`: move `\(by.name)` to an earlier stage or a lower runOrder"
                        } else {
                            closestMatch(to: input, in: Array(produced.keys)).map { "did you mean `\($0)`?" }
                                ?? closestMatch(to: input, in: declaredOutputs(stages).filter { $0 != input }).map { "did you mean `\($0)`? (it is produced later: move this action after it)" }
                        }
                        report("input artifact `\(input)` of action `\(action.name)` is not produced by any earlier action",
                               fix: hint ?? "name an output artifact of an action in an earlier stage (or a lower runOrder)")
                    }
                    if let ns = action.namespace, !namespaces.insert(ns).inserted {
                        report("namespace `\(ns)` is used twice", fix: "give each action its own namespace")
                    }
                }
                for action in group {
                    for output in action.outputArtifacts {
                        if produced[output.name] != nil {
                            diagnostics.append(Diagnostic(.error, action.location ?? location(node(index)),
                                                          "output artifact name `\(output.name)` is used twice",
                                                          fix: "artifact names are unique in a pipeline; rename one"))
                        }
                        produced[output.name] = (index, action.runOrder)
                    }
                }
            }
        }
    }

    private func declaredOutputs(_ stages: [Stage]) -> [String] { stages.flatMap { $0.actions.flatMap { $0.outputArtifacts.map(\.name) } } }
}
