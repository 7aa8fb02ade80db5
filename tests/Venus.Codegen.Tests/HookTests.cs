using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Venus.Codegen.Tests;

/// <summary>
/// icd.xml's &lt;hook&gt;: a vkCmd* that keeps its generated export (the flat fast path: ReserveRaw, raw
/// encode, Commit) and then calls IcdCommands.&lt;command&gt;Recorded, which Families/ implements. The
/// query commands use it to note their queries for the feedback copy (Families/Queries.cs).
/// </summary>
[Collection("generator")]
public partial class HookTests(GeneratorFixture g)
{
    [GeneratedRegex(@"^\s*internal static partial void (?<name>\w+)\((?<params>[^)]*)\);$", RegexOptions.Multiline)]
    private static partial Regex HookDeclaration();

    SortedDictionary<string, string>? _icd;
    SortedDictionary<string, string> Icd => _icd ??= Program.GenerateIcd(g.Model);

    /// <summary>The generated export of <paramref name="name"/> (from its attribute to its closing brace).</summary>
    string Export(string name)
    {
        string all = string.Concat(Icd.Where(kv => kv.Key.StartsWith("Entrypoints", StringComparison.Ordinal)).Select(kv => kv.Value));
        var m = Regex.Match(all, $@"    \[UnmanagedCallersOnly\]\n    public static \w+ {name}\(.*?\n    }}\n", RegexOptions.Singleline);
        Assert.True(m.Success, $"no generated export of {name}");
        return m.Value;
    }

    [Theory]
    [InlineData("vkCmdResetQueryPool", "cb, queryPool, firstQuery, queryCount")]
    [InlineData("vkCmdEndQuery", "cb, queryPool, query")]
    [InlineData("vkCmdEndQueryIndexedEXT", "cb, queryPool, query, index")]
    [InlineData("vkCmdWriteTimestamp", "cb, pipelineStage, queryPool, query")]
    [InlineData("vkCmdWriteTimestamp2", "cb, stage, queryPool, query")]
    public void AHookedQueryCommandRecordsOnTheFastPathThenCallsItsHook(string name, string hookArgs)
    {
        string export = Export(name);
        var lines = export.Split('\n').Select(l => l.Trim()).ToList();
        int reserve = lines.FindIndex(l => l.StartsWith("VnRawWriter e = cb.ReserveRaw(n);", StringComparison.Ordinal));
        int commit = lines.IndexOf("cb.Commit(in e, n);");
        int hook = lines.IndexOf($"Families.IcdCommands.{name}Recorded({hookArgs});");
        Assert.True(reserve > 0 && commit > reserve && hook == commit + 1, export);
        Assert.DoesNotContain("StreamFilter", export); // not the checked encoder
        Assert.Contains($"CommandBuffer.FailSafe(commandBuffer, ex, \"{name}\");", export);
        // No longer hand-written: no family declaration or family export shell.
        Assert.DoesNotContain($" {name}(", Icd["FamilyDeclarations.cs"]);
        Assert.DoesNotContain($" {name}(", Icd["FamilyExports.cs"]);
        Assert.Contains($"internal static partial void {name}Recorded(CommandBuffer cb, ", Icd["FamilyHooks.cs"]);
    }

    [Fact]
    public void AnUnhookedCommandCallsNoHook()
    {
        string export = Export("vkCmdBeginQuery");
        Assert.Contains("cb.Commit(in e, n);", export);
        Assert.DoesNotContain("IcdCommands", export);
        Assert.DoesNotContain("vkCmdBeginQueryRecorded", Icd["FamilyHooks.cs"]);
    }

    static List<Diagnostic> Compile(params string[] sources)
    {
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        refs.Add(MetadataReference.CreateFromFile(typeof(Venus.Protocol.Vulkan.VkResult).Assembly.Location));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var comp = CSharpCompilation.Create("HookContract", sources.Select(s => CSharpSyntaxTree.ParseText(s, parse)), refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        return comp.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    /// <summary>The ICD's command buffer type, as far as the hook declarations need it.</summary>
    const string CommandBufferStub = "namespace Venus.GuestIcd.Runtime { internal sealed class CommandBuffer { } }\n";

    static string Implementations(IEnumerable<Match> decls) =>
        "using Venus.Protocol.Vulkan;\nusing CommandBuffer = Venus.GuestIcd.Runtime.CommandBuffer;\nnamespace Venus.GuestIcd.Families;\n" +
        "internal static unsafe partial class IcdCommands\n{\n" +
        string.Concat(decls.Select(m => $"    internal static partial void {m.Groups["name"].Value}({m.Groups["params"].Value}) {{ }}\n")) + "}\n";

    [Fact]
    public void EveryHookImplementedCompilesAndAMissingOneFailsTheBuild()
    {
        string hooks = Icd["FamilyHooks.cs"];
        var decls = HookDeclaration().Matches(hooks).ToList();
        Assert.Equal(5, decls.Count);
        Assert.Empty(Compile(CommandBufferStub, hooks, Implementations(decls)));
        var errors = Compile(CommandBufferStub, hooks, Implementations(decls.Where(m => m.Groups["name"].Value != "vkCmdEndQueryRecorded")));
        Assert.Contains(errors, d => d.Id == "CS8795" && d.GetMessage().Contains("vkCmdEndQueryRecorded"));
        Assert.All(errors, d => Assert.Equal("CS8795", d.Id));
    }

    /// <summary>icd.xml with <paramref name="line"/> added to its &lt;icd&gt; element.</summary>
    string IcdXmlWith(string line)
    {
        string text = File.ReadAllText(Path.Combine(g.Root, "src", "Venus.Codegen", "Definitions", "icd.xml"));
        Assert.Contains("    </icd>", text);
        return text.Replace("    </icd>", $"        {line}\n    </icd>", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<hook command=\"vkCmdSetEvent\" family=\"Sync\"/>", "also <handwritten>")]                // hand-written already
    [InlineData("<hook command=\"vkCmdWriteTimestamp2KHR\" family=\"Queries\"/>", "not its alias")]       // an alias
    [InlineData("<hook command=\"vkCmdNoSuchCommand\" family=\"Queries\"/>", "unknown command")]
    [InlineData("<hook command=\"vkTrimCommandPool\" family=\"Queries\"/>", "not a vkCmd* command")]     // not recorded
    [InlineData("<hook command=\"vkCmdEndQuery\" family=\"Queries\"/>", "listed twice")]
    [InlineData("<hook command=\"vkCmdDraw\"/>", "without family")]
    public void ABadHookIsRefused(string line, string why)
    {
        var ex = Assert.ThrowsAny<InvalidDataException>(() => Program.GenerateIcd(g.LoadModel("icd.xml", IcdXmlWith(line))));
        Assert.Contains(why, ex.Message);
    }
}
