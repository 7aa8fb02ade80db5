using System.Text;
using Venus.Codegen.Emit;
using Venus.Codegen.Model;
using Venus.Codegen.Registry;

namespace Venus.Codegen;

/// <summary>
/// venus-codegen: vk.xml + src/Venus.Codegen/Definitions/*.xml → src/Venus.Protocol/Generated (and, when asked,
/// the protocol tests', the host renderer's and the guest ICD's generated code).
/// With --check it writes nothing and fails when the committed files differ from what it would write.
/// </summary>
public static class Program
{
    const string Usage = "usage: Venus.Codegen --vkxml PATH --defs DIR --out DIR [--tests-out DIR] [--host-out DIR] [--icd-out DIR] [--check] [--verbose]";

    public static int Main(string[] args)
    {
        string? vkxml = null, defs = null, outDir = null, testsOut = null, hostOut = null, icdOut = null;
        bool check = false, verbose = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--vkxml": vkxml = Next(); break;
                    case "--defs": defs = Next(); break;
                    case "--out": outDir = Next(); break;
                    case "--tests-out": testsOut = Next(); break;
                    case "--host-out": hostOut = Next(); break;
                    case "--icd-out": icdOut = Next(); break;
                    case "--check": check = true; break;
                    case "--verbose": verbose = true; break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: Console.Error.WriteLine($"venus-codegen: unknown argument '{args[i]}'\n{Usage}"); return 2;
                }
            }
            catch (ArgumentException e) { Console.Error.WriteLine($"venus-codegen: {e.Message}\n{Usage}"); return 2; }
        }
        if (vkxml == null || defs == null || outDir == null) { Console.Error.WriteLine($"venus-codegen: missing arguments\n{Usage}"); return 2; }
        if (!File.Exists(vkxml)) { Console.Error.WriteLine($"venus-codegen: vk.xml not found: {vkxml}"); return 2; }
        if (!Directory.Exists(defs)) { Console.Error.WriteLine($"venus-codegen: definitions folder not found: {defs}"); return 2; }

        try
        {
            var files = new List<string> { vkxml };
            files.AddRange(Directory.GetFiles(defs, "*.xml").OrderBy(f => f, StringComparer.Ordinal));
            var reg = VkRegistry.Load(files.ToArray());
            if (reg.HeaderVersion == 0) throw new InvalidDataException($"{vkxml}: no VK_HEADER_VERSION");
            var model = new ProtocolModel(reg);
            var outputs = Generate(model);
            // The ICD's rules can refuse the model (icd.xml): find out before anything is written.
            var icd = icdOut != null ? GenerateIcd(model) : null;
            if (verbose)
            {
                foreach (var w in model.Warnings) Console.Error.WriteLine($"note: {w}");
                foreach (var c in model.Commands.Where(c => !c.Encodable)) Console.Error.WriteLine($"no body: {c.TypeValue} {c.Name}: {c.Unsupported}");
            }
            int bodies = model.Commands.Count(c => c.Encodable);
            Console.WriteLine($"vk.xml 1.4.{reg.HeaderVersion}: {model.Commands.Count} command types, {bodies} with bodies, " +
                              $"{model.Structs.Values.Count(s => s.Used)} wire structs, {model.CoveredExtensions.Count} extensions covered");
            int rc = check ? Check(outDir, outputs) : Write(outDir, outputs);
            if (testsOut != null)
            {
                var tests = GenerateTests(model);
                int rc2 = check ? Check(testsOut, tests) : Write(testsOut, tests);
                rc = Math.Max(rc, rc2);
            }
            if (hostOut != null)
            {
                var host = GenerateHost(model);
                int rc3 = check ? Check(hostOut, host) : Write(hostOut, host);
                rc = Math.Max(rc, rc3);
            }
            if (icdOut != null && icd != null)
            {
                int rc4 = check ? Check(icdOut, icd) : Write(icdOut, icd);
                rc = Math.Max(rc, rc4);
            }
            return rc;
        }
        catch (Exception e) when (e is InvalidDataException or System.Xml.XmlException or IOException)
        {
            Console.Error.WriteLine($"venus-codegen: {e.Message}");
            return 1;
        }
    }

    public static SortedDictionary<string, string> Generate(ProtocolModel model)
    {
        var native = new NativeEmitter(model);
        var wire = new WireEmitter(model, native);
        var dispatch = new DispatchEmitter(model, native);
        var o = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["Vulkan/Enums.cs"] = native.EmitEnums(),
            ["Vulkan/Structs.cs"] = native.EmitStructs(),
            ["Vulkan/Functions.cs"] = dispatch.Emit(),
            ["VenusProtocolInfo.cs"] = wire.EmitInfo(),
            ["VenusCommandText.cs"] = new TextEmitter(model, native, wire).Emit(),
            ["VkFormatInfo.cs"] = new FormatEmitter(model).Emit(),
        };
        // Group wire structs and commands into files of bounded size so builds stay parallel.
        Chunked(o, "Wire/Structs", wire.WireStructs().Select(wire.EmitStruct), "Venus.Protocol.Wire");
        Chunked(o, "Commands/Commands", wire.WireCommands().Select(wire.EmitCommand), "Venus.Protocol.Commands");
        return o;
    }

    public static SortedDictionary<string, string> GenerateTests(ProtocolModel model)
    {
        var native = new NativeEmitter(model);
        var wire = new WireEmitter(model, native);
        return new SortedDictionary<string, string>(StringComparer.Ordinal) { ["RandomArgs.cs"] = new TestEmitter(model, native, wire).Emit() };
    }

    public static SortedDictionary<string, string> GenerateHost(ProtocolModel model)
    {
        var native = new NativeEmitter(model);
        var wire = new WireEmitter(model, native);
        var fns = new DispatchEmitter(model, native);
        var host = new HostDispatchEmitter(model, wire, fns);
        return new SortedDictionary<string, string>(StringComparer.Ordinal) { ["CommandDispatch.cs"] = host.Emit(), ["HandlerChecks.cs"] = host.EmitChecks() };
    }

    public static SortedDictionary<string, string> GenerateIcd(ProtocolModel model)
    {
        var native = new NativeEmitter(model);
        var wire = new WireEmitter(model, native);
        var fns = new DispatchEmitter(model, native);
        return new IcdEmitter(model, wire, fns).Emit();
    }

    static void Chunked(SortedDictionary<string, string> o, string prefix, IEnumerable<string> parts, string ns)
    {
        int file = 0;
        var sb = new StringBuilder();
        void Flush()
        {
            if (sb.Length == 0) return;
            o[$"{prefix}{file:D2}.cs"] = Templates.Render("codec-file.sbn",
                new { Header = CodeWriter.Header("Venus wire codecs."), Namespace = ns, Body = sb.ToString() });
            sb.Clear();
            file++;
        }
        foreach (var p in parts)
        {
            sb.Append(p).Append('\n');
            if (sb.Length > 400_000) Flush();
        }
        Flush();
    }

    static int Write(string outDir, SortedDictionary<string, string> outputs)
    {
        if (Directory.Exists(outDir))
            foreach (var f in Directory.GetFiles(outDir, "*.cs", SearchOption.AllDirectories)) File.Delete(f);
        foreach (var (rel, text) in outputs)
        {
            var path = Path.Combine(outDir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }
        Console.WriteLine($"wrote {outputs.Count} files to {outDir}");
        return 0;
    }

    static int Check(string outDir, SortedDictionary<string, string> outputs)
    {
        var problems = new List<string>();
        var existing = Directory.Exists(outDir)
            ? Directory.GetFiles(outDir, "*.cs", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outDir, f).Replace('\\', '/')).ToHashSet()
            : new HashSet<string>();
        foreach (var (rel, text) in outputs)
        {
            var path = Path.Combine(outDir, rel);
            if (!File.Exists(path)) problems.Add($"missing: {rel}");
            else if (File.ReadAllText(path) != text) problems.Add($"differs: {rel}");
            existing.Remove(rel);
        }
        foreach (var rel in existing) problems.Add($"stale: {rel}");
        if (problems.Count == 0) { Console.WriteLine("generated code is up to date"); return 0; }
        foreach (var p in problems) Console.Error.WriteLine($"venus-codegen --check: {p}");
        Console.Error.WriteLine("generated code is out of date: run eng/codegen.sh and commit the result");
        return 1;
    }
}
