import Yams

/// CodePipeline's own formats, read into the native shape so that one parser checks them all:
/// `aws codepipeline get-pipeline` JSON (`{"pipeline": {...}, "metadata": {...}}`) and
/// CloudFormation templates with `AWS::CodePipeline::Pipeline` resources (PascalCase keys,
/// intrinsic functions that only CloudFormation can evaluate).
extension DefinitionParser {
    /// True when the document is a CloudFormation template or get-pipeline output (even one
    /// without a readable pipeline), so that it is not read as a native definition.
    func isForeign(_ document: Node) -> Bool {
        guard case .mapping(let mapping) = document else { return false }
        return mapping.keys.contains { ["pipeline", "Resources", "AWSTemplateFormatVersion"].contains($0.string ?? "") }
    }

    /// The native-shaped pipeline nodes of a foreign document; nil for a native definition.
    mutating func importedPipelines(_ document: Node) -> [Node]? {
        guard isForeign(document), case .mapping(let mapping) = document else { return nil }
        if let pipeline = mapping["pipeline"] {
            for (key, keyNode, _) in pairs(document) where key != "pipeline" && key != "metadata" {
                warning(keyNode, "`\(key)` beside `pipeline` is not read")
            }
            return [normalize(pipeline, key: "")]
        }
        templateParameters = [:]
        for (name, _, parameter) in pairs(mapping["Parameters"]) {
            guard case .mapping(let fields) = parameter, let value = fields["Default"] else { continue }
            switch value {
            case .scalar(let scalar): templateParameters[name] = scalar.string
            // A CommaDelimitedList's Default may be written as a list.
            case .sequence(let items): templateParameters[name] = items.compactMap(\.string).joined(separator: ",")
            default: continue
            }
        }
        var result: [Node] = []
        for (name, _, resource) in pairs(mapping["Resources"]) {
            guard case .mapping(let fields) = resource, fields["Type"]?.string == "AWS::CodePipeline::Pipeline" else { continue }
            guard let properties = fields["Properties"] else {
                error(resource, "resource `\(name)` (AWS::CodePipeline::Pipeline) has no Properties")
                continue
            }
            result.append(normalize(properties, key: ""))
        }
        if result.isEmpty {
            error(document, "this CloudFormation template has no AWS::CodePipeline::Pipeline resource",
                  fix: "lint the template that declares the pipeline, or write a .pipeline.yml")
        }
        return result
    }

    /// Keys to camelCase (outside `configuration`, whose keys are the provider's own), intrinsic
    /// functions to text with a warning, `!If` to its first branch.
    private mutating func normalize(_ node: Node, key parentKey: String, inConfiguration: Bool = false) -> Node {
        if let function = intrinsic(node) {
            if function.name == "If", case .sequence(let branches) = function.argument, branches.count == 3 {
                let chosen = isNoValue(branches[1]) ? branches[2] : branches[1]
                warning(node, "CloudFormation condition `\(branches[0].string ?? "?")` is not evaluated here; the branch that declares something is used")
                return normalize(chosen, key: parentKey, inConfiguration: inConfiguration)
            }
            let text = "!\(function.name) " + flatten(function.argument)
            if let value = evaluate(function) {
                let parameters = value.parameters.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
                let used = parameters.map { "`\($0)`" }.joined(separator: ", ")
                warning(node, "`\(text)` reads the template's \(parameters.count == 1 ? "parameter" : "parameters") \(used) at \(parameters.count == 1 ? "its Default" : "their Defaults"): `\(value.text)`",
                        fix: "CloudFormation uses the value the stack is given; give the value directly if it differs")
                return Node.scalar(.init(value.text, .implicit, .plain, node.mark))
            }
            if parentKey == "name" {
                warning(node, "the name is the CloudFormation function `\(text)`, evaluated only by CloudFormation; the file's name is used instead")
                return Node.scalar(.init("", .implicit, .plain, node.mark))
            }
            if !["roleArn", "location", "artifactStore"].contains(parentKey) {
                warning(node, "CloudFormation function `\(text)` is not evaluated here; its text is kept",
                        fix: "give the value directly, or set it with pipeline variables")
            }
            return Node.scalar(.init(text, .implicit, .plain, node.mark))
        }
        switch node {
        case .mapping(let mapping):
            var pairs: [(Node, Node)] = []
            for (key, value) in mapping {
                let name = key.string ?? ""
                let newName = inConfiguration ? name : lowerFirst(name)
                let child = normalize(value, key: newName, inConfiguration: !inConfiguration && newName == "configuration")
                if newName == "name", child.string == "" { continue }
                pairs.append((Node.scalar(.init(newName, .implicit, .plain, key.mark)), child))
            }
            return .mapping(.init(pairs, .implicit, mapping.style, mapping.mark))
        case .sequence(let sequence):
            let items = sequence.filter { !isNoValue($0) }.map { normalize($0, key: parentKey, inConfiguration: inConfiguration) }
            return .sequence(.init(items, .implicit, sequence.style, sequence.mark))
        case .scalar(let scalar):
            // JSON and YAML numbers and booleans are strings in CodePipeline's configuration.
            return .scalar(.init(scalar.string, .implicit, scalar.style, scalar.mark))
        case .alias:
            return node
        }
    }

    /// `!Ref`, `!Sub` and `!Join` whose every part is a literal or a template parameter with a
    /// Default, as CloudFormation evaluates them; nil when any part is known only to CloudFormation
    /// (a resource, an attribute, a pseudo parameter such as `AWS::Region`, a parameter without a Default).
    private func evaluate(_ function: (name: String, argument: Node)) -> (text: String, parameters: [String])? {
        switch function.name {
        case "Ref":
            guard let name = function.argument.string, let value = templateParameters[name] else { return nil }
            return (value, [name])
        case "Sub":
            var template: String
            var variables: [String: String] = [:]
            var used: [String] = []
            switch function.argument {
            case .scalar(let scalar): template = scalar.string
            case .sequence(let items) where items.count == 2:
                guard let text = items[0].string else { return nil }
                template = text
                for (key, _, value) in pairs(items[1]) {
                    if let literal = value.string, intrinsic(value) == nil {
                        variables[key] = literal
                    } else if let inner = intrinsic(value), let evaluated = evaluate(inner) {
                        variables[key] = evaluated.text
                        used += evaluated.parameters
                    } else {
                        return nil
                    }
                }
            default: return nil
            }
            var result = ""
            while let open = template.range(of: "${") {
                result += template[..<open.lowerBound]
                guard let close = template[open.upperBound...].firstIndex(of: "}") else { return nil }
                let name = String(template[open.upperBound..<close])
                if name.hasPrefix("!") {
                    // `${!Literal}` is the text `${Literal}`.
                    result += "${" + name.dropFirst() + "}"
                } else if let value = variables[name] {
                    result += value
                } else if let value = templateParameters[name] {
                    result += value
                    used.append(name)
                } else {
                    return nil
                }
                template = String(template[template.index(after: close)...])
            }
            guard !used.isEmpty else { return nil }
            return (result + template, used)
        case "Join":
            guard case .sequence(let items) = function.argument, items.count == 2, let delimiter = items[0].string,
                  case .sequence(let parts) = items[1] else { return nil }
            var texts: [String] = []
            var used: [String] = []
            for part in parts {
                if let inner = intrinsic(part) {
                    guard let evaluated = evaluate(inner) else { return nil }
                    texts.append(evaluated.text)
                    used += evaluated.parameters
                } else if let literal = part.string {
                    texts.append(literal)
                } else {
                    return nil
                }
            }
            guard !used.isEmpty else { return nil }
            return (texts.joined(separator: delimiter), used)
        default:
            return nil
        }
    }

    private func intrinsic(_ node: Node) -> (name: String, argument: Node)? {
        let tag = node.tag.rawValue
        if tag.hasPrefix("!") {
            let name = String(tag.dropFirst())
            let argument: Node = switch node {
            case .scalar(let scalar): .scalar(.init(scalar.string, .implicit, scalar.style, scalar.mark))
            case .mapping(let mapping): .mapping(.init(mapping.map { ($0, $1) }, .implicit, mapping.style, mapping.mark))
            case .sequence(let sequence): .sequence(.init(Array(sequence), .implicit, sequence.style, sequence.mark))
            case .alias: node
            }
            return (name, argument)
        }
        if case .mapping(let mapping) = node, mapping.count == 1, let key = mapping.keys.first?.string, key == "Ref" || key.hasPrefix("Fn::") {
            return (key == "Ref" ? "Ref" : String(key.dropFirst(4)), mapping.values.first!)
        }
        return nil
    }

    private func isNoValue(_ node: Node) -> Bool {
        guard let function = intrinsic(node) else { return false }
        return function.name == "Ref" && function.argument.string == "AWS::NoValue"
    }

    private func flatten(_ node: Node) -> String {
        if let function = intrinsic(node) { return "!\(function.name) " + flatten(function.argument) }
        switch node {
        case .scalar(let scalar): return scalar.string
        case .sequence(let items): return "[" + items.map(flatten).joined(separator: ", ") + "]"
        case .mapping(let mapping): return "{" + mapping.map { "\($0.string ?? ""): \(flatten($1))" }.joined(separator: ", ") + "}"
        case .alias: return "*alias"
        }
    }

    private func lowerFirst(_ text: String) -> String {
        guard let first = text.first, first.isUppercase else { return text }
        // Acronym keys keep their case after the first letter ("ActionTypeId" → "actionTypeId").
        return first.lowercased() + text.dropFirst()
    }
}
