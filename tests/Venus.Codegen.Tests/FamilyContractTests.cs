using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Venus.Codegen.Tests;

/// <summary>
/// A hand-written ICD command has one source of truth (Definitions/icd.xml): the generator declares a
/// partial method per entry, so the compiler fails a listed command whose family method is missing
/// (CS8795) and a family method icd.xml does not list (CS0759). Compiled in memory with Roslyn over the
/// generator's own FamilyDeclarations.cs (eng/check-families.sh shows the same on the real ICD build).
/// </summary>
[Collection("generator")]
public partial class FamilyContractTests(GeneratorFixture g)
{
    [GeneratedRegex(@"^\s*internal static partial (?<ret>[\w*]+) (?<name>\w+)\((?<params>[^)]*)\);$", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    string Declarations => Program.GenerateIcd(g.Model)["FamilyDeclarations.cs"];

    static string Implementations(IEnumerable<Match> decls, string extra = "")
    {
        var sb = new StringBuilder("using Venus.Protocol.Vulkan;\nnamespace Venus.GuestIcd.Families;\ninternal static unsafe partial class IcdCommands\n{\n");
        foreach (var m in decls)
        {
            string ret = m.Groups["ret"].Value;
            string body = ret == "void" ? "{ }" : "=> default;";
            sb.Append($"    internal static partial {ret} {m.Groups["name"].Value}({m.Groups["params"].Value}) {body}\n");
        }
        sb.Append(extra).Append("}\n");
        return sb.ToString();
    }

    static List<Diagnostic> Compile(params string[] sources)
    {
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        refs.Add(MetadataReference.CreateFromFile(typeof(Venus.Protocol.Vulkan.VkResult).Assembly.Location));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var comp = CSharpCompilation.Create("FamilyContract", sources.Select(s => CSharpSyntaxTree.ParseText(s, parse)), refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        return comp.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    [Fact]
    public void EveryListedCommandImplementedCompiles()
    {
        var decls = Declaration().Matches(Declarations).ToList();
        Assert.True(decls.Count > 40, $"only {decls.Count} family declarations");
        Assert.Contains(decls, m => m.Groups["name"].Value == "vkResetFences");
        var errors = Compile(Declarations, Implementations(decls));
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
    }

    [Fact]
    public void AListedCommandWithoutItsFamilyMethodFailsTheBuild()
    {
        var decls = Declaration().Matches(Declarations).Where(m => m.Groups["name"].Value != "vkResetFences");
        var errors = Compile(Declarations, Implementations(decls));
        Assert.Contains(errors, d => d.Id == "CS8795" && d.GetMessage().Contains("vkResetFences"));
        Assert.All(errors, d => Assert.Equal("CS8795", d.Id));
    }

    [Fact]
    public void AFamilyMethodThatIcdXmlDoesNotListFailsTheBuild()
    {
        Assert.DoesNotContain(" vkTrimCommandPool(", Declarations);
        var decls = Declaration().Matches(Declarations);
        var errors = Compile(Declarations, Implementations(decls,
            "    internal static partial void vkTrimCommandPool(ulong device, ulong commandPool, uint flags) { }\n"));
        Assert.Contains(errors, d => d.Id == "CS0759" && d.GetMessage().Contains("vkTrimCommandPool"));
    }
}
