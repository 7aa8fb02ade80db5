using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Venus.Codegen.Tests;

/// <summary>
/// host.xml's &lt;check&gt;: a command that keeps its generated host handler (decode, translate, driver
/// call, object table, reply) and calls Handlers.&lt;command&gt;Check with the decoded arguments before
/// the driver; Families/&lt;family&gt;.cs implements it. The buffer-range, fence-array, descriptor,
/// vertex-input, query-range and acceleration-structure rules use it. And host.xml's &lt;after&gt;: a
/// generated create or destroy that calls Handlers.&lt;command&gt;After once the driver and the object table
/// are done, for what a family keeps of the object (image shapes, query pools, shader entry points).
/// </summary>
[Collection("generator")]
public partial class HostCheckTests(GeneratorFixture g)
{
    [GeneratedRegex(@"^\s*internal partial bool (?<name>\w+)\((?<params>[^)]*)\);$", RegexOptions.Multiline)]
    private static partial Regex CheckDeclaration();

    [GeneratedRegex(@"^\s*internal partial void (?<name>\w+)\((?<params>[^)]*)\);$", RegexOptions.Multiline)]
    private static partial Regex AfterDeclaration();

    SortedDictionary<string, string>? _host;
    SortedDictionary<string, string> Host => _host ??= Program.GenerateHost(g.Model);

    /// <summary>The generated handler of <paramref name="name"/>, one trimmed line each.</summary>
    List<string> Handler(string name)
    {
        var m = Regex.Match(Host["CommandDispatch.cs"], $@"    static bool {name}_\(Dispatcher x, uint flags, ref VnDecoder d\)\n    {{\n.*?\n    }}\n", RegexOptions.Singleline);
        Assert.True(m.Success, $"no generated handler of {name}");
        return m.Value.Split('\n').Select(l => l.Trim()).ToList();
    }

    [Theory]
    [InlineData("vkCmdCopyBuffer", "fn(a.commandBuffer, a.srcBuffer, a.dstBuffer, a.regionCount, a.pRegions);")]
    [InlineData("vkCmdWriteTimestamp", "fn(a.commandBuffer, a.pipelineStage, a.queryPool, a.query);")]
    [InlineData("vkResetFences", "a.ret = fn(a.device, a.fenceCount, a.pFences);")]
    [InlineData("vkUpdateDescriptorSets", "fn(a.device, a.descriptorWriteCount, a.pDescriptorWrites, a.descriptorCopyCount, a.pDescriptorCopies);")]
    public void ACheckedCommandChecksAfterDecodeAndBeforeTheDriver(string name, string call)
    {
        var lines = Handler(name);
        int decoded = lines.FindIndex(l => l.StartsWith("if (d.Failed) return x.DecodeFailed(", StringComparison.Ordinal));
        int missing = lines.FindIndex(l => l.StartsWith("if (fn == null) return x.MissingFunction(", StringComparison.Ordinal));
        int check = lines.IndexOf($"if (!x.Handlers.{name}Check(x, &a)) return false;");
        int driver = lines.IndexOf(call);
        Assert.True(decoded > 0 && missing > decoded && check == missing + 1 && driver > check, string.Join("\n", lines));
        // No longer hand-written: not a member of IHandlers.
        Assert.DoesNotContain($" {name}(Dispatcher x", Host["CommandDispatch.cs"]);
        Assert.Contains($"internal partial bool {name}Check(Dispatcher x, {name}.Args* a);", Host["HandlerChecks.cs"]);
    }

    [Fact]
    public void ACheckedCreationRegistersWhatTheDriverMadeAfterTheCheck()
    {
        var lines = Handler("vkCreateGraphicsPipelines");
        int check = lines.IndexOf("if (!x.Handlers.vkCreateGraphicsPipelinesCheck(x, &a)) return false;");
        int temporaries = lines.FindIndex(l => l.StartsWith("ulong* real_pPipelines = ", StringComparison.Ordinal));
        int register = lines.FindIndex(l => l.Contains("x.Register(a.pPipelines[i], real_pPipelines[i], 19)", StringComparison.Ordinal));
        Assert.True(check > 0 && temporaries > check && register > temporaries, string.Join("\n", lines));
    }

    [Fact]
    public void AnUncheckedCommandCallsNoCheck()
    {
        var lines = Handler("vkCmdSetLineWidth");
        Assert.DoesNotContain(lines, l => l.Contains("Check(", StringComparison.Ordinal));
        Assert.DoesNotContain("vkCmdSetLineWidthCheck", Host["HandlerChecks.cs"]);
    }

    [Fact]
    public void EveryCheckIsImplementedInItsFamilyFile()
    {
        Assert.NotEmpty(g.Model.Reg.HostChecks);
        foreach (var (command, family) in g.Model.Reg.HostChecks)
        {
            string file = Path.Combine(g.Root, "src", "Venus.HostRenderer", "Families", family + ".cs");
            Assert.True(File.Exists(file), $"host.xml: <check> {command} names family {family}, and {file} does not exist");
            Assert.Contains($"internal partial bool {command}Check(Dispatcher x, {command}.Args* a)", File.ReadAllText(file));
        }
    }

    static List<Diagnostic> Compile(params string[] sources)
    {
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        refs.Add(MetadataReference.CreateFromFile(typeof(Venus.Protocol.Vulkan.VkResult).Assembly.Location));
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var comp = CSharpCompilation.Create("HostCheckContract", sources.Select(s => CSharpSyntaxTree.ParseText(s, parse)), refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        return comp.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    /// <summary>The host's dispatcher type, as far as the check declarations need it.</summary>
    const string DispatcherStub = "namespace Venus.HostRenderer.Context { internal sealed class Dispatcher { } }\n";

    static string Implementations(IEnumerable<Match> decls, string extra = "", IEnumerable<Match>? afters = null) =>
        "using Venus.HostRenderer.Context;\nusing Venus.Protocol.Commands;\nnamespace Venus.HostRenderer;\n" +
        "internal sealed unsafe partial class Handlers\n{\n" +
        string.Concat(decls.Select(m => $"    internal partial bool {m.Groups["name"].Value}({m.Groups["params"].Value}) => true;\n")) +
        string.Concat((afters ?? []).Select(m => $"    internal partial void {m.Groups["name"].Value}({m.Groups["params"].Value}) {{ }}\n")) + extra + "}\n";

    [Fact]
    public void EveryCheckImplementedCompilesAndAMissingOrUnlistedOneFailsTheBuild()
    {
        string checks = Host["HandlerChecks.cs"];
        var decls = CheckDeclaration().Matches(checks).ToList();
        var afters = AfterDeclaration().Matches(checks).ToList();
        Assert.Equal(g.Model.Reg.HostChecks.Count, decls.Count);
        Assert.Equal(g.Model.Reg.HostAfters.Count, afters.Count);
        Assert.Empty(Compile(DispatcherStub, checks, Implementations(decls, afters: afters)));

        var missing = Compile(DispatcherStub, checks, Implementations(decls.Where(m => m.Groups["name"].Value != "vkCmdCopyBufferCheck"), afters: afters));
        Assert.Contains(missing, d => d.Id == "CS8795" && d.GetMessage().Contains("vkCmdCopyBufferCheck"));
        Assert.All(missing, d => Assert.Equal("CS8795", d.Id));

        var unlisted = Compile(DispatcherStub, checks, Implementations(decls,
            "    internal partial bool vkCmdSetLineWidthCheck(Dispatcher x, vkCmdSetLineWidth.Args* a) => true;\n", afters));
        Assert.Contains(unlisted, d => d.Id == "CS0759" && d.GetMessage().Contains("vkCmdSetLineWidthCheck"));
    }

    [Fact]
    public void AMissingOrUnlistedAfterFailsTheBuild()
    {
        string checks = Host["HandlerChecks.cs"];
        var decls = CheckDeclaration().Matches(checks).ToList();
        var afters = AfterDeclaration().Matches(checks).ToList();
        Assert.Contains(afters, m => m.Groups["name"].Value == "vkDestroyImageAfter");

        var missing = Compile(DispatcherStub, checks, Implementations(decls, afters: afters.Where(m => m.Groups["name"].Value != "vkDestroyImageAfter")));
        Assert.Contains(missing, d => d.Id == "CS8795" && d.GetMessage().Contains("vkDestroyImageAfter"));
        Assert.All(missing, d => Assert.Equal("CS8795", d.Id));

        var unlisted = Compile(DispatcherStub, checks, Implementations(decls,
            "    internal partial void vkDestroyBufferViewAfter(Dispatcher x, vkDestroyBufferView.Args* a, ulong handle) { }\n", afters));
        Assert.Contains(unlisted, d => d.Id == "CS0759" && d.GetMessage().Contains("vkDestroyBufferViewAfter"));
    }

    [Fact]
    public void ACreatedObjectIsRecordedAfterTheDriverAndTheTableOnlyWhenItWasCreated()
    {
        var lines = Handler("vkCreateImage");
        int check = lines.IndexOf("if (!x.Handlers.vkCreateImageCheck(x, &a)) return false;");
        int driver = lines.IndexOf("a.ret = fn(a.device, a.pCreateInfo, null, a.pImage == null ? null : &real_pImage);");
        int register = lines.FindIndex(l => l.Contains("x.Register(*a.pImage, real_pImage, 10)", StringComparison.Ordinal));
        int after = lines.IndexOf("if (a.pImage != null && *a.pImage != 0) x.Handlers.vkCreateImageAfter(x, &a, real_pImage);");
        int reply = lines.IndexOf("if ((flags & 1) != 0)");
        Assert.True(check > 0 && driver > check && register > driver && after > register && reply > after, string.Join("\n", lines));
        Assert.DoesNotContain(" vkCreateImage(Dispatcher x", Host["CommandDispatch.cs"]);
    }

    [Fact]
    public void ADestroyedObjectIsForgottenAfterTheDriverAndTheTable()
    {
        var lines = Handler("vkDestroyBuffer");
        int retire = lines.IndexOf("if (!x.Ctx.Retire.BeforeDestroy(a.device, \"vkDestroyBuffer\")) return false;");
        int driver = lines.IndexOf("fn(a.device, a.buffer, null);");
        int unregister = lines.IndexOf("x.Unregister(a.buffer, 9);");
        int after = lines.IndexOf("x.Handlers.vkDestroyBufferAfter(x, &a, a.buffer);");
        Assert.True(retire > 0 && driver > retire && unregister == driver + 1 && after == unregister + 1, string.Join("\n", lines));
        Assert.DoesNotContain(Handler("vkDestroyBufferView"), l => l.Contains("After(", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryAfterIsImplementedInItsFamilyFile()
    {
        Assert.NotEmpty(g.Model.Reg.HostAfters);
        foreach (var (command, family) in g.Model.Reg.HostAfters)
        {
            string file = Path.Combine(g.Root, "src", "Venus.HostRenderer", "Families", family + ".cs");
            Assert.True(File.Exists(file), $"host.xml: <after> {command} names family {family}, and {file} does not exist");
            Assert.Contains($"internal partial void {command}After(Dispatcher x, {command}.Args* a, ulong handle)", File.ReadAllText(file));
        }
    }

    /// <summary>host.xml with <paramref name="line"/> added to its &lt;host&gt; element.</summary>
    string HostXmlWith(string line)
    {
        string text = File.ReadAllText(Path.Combine(g.Root, "src", "Venus.Codegen", "Definitions", "host.xml"));
        Assert.Contains("    </host>", text);
        return text.Replace("    </host>", $"        {line}\n    </host>", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<check command=\"vkQueueSubmit\" family=\"Submit\"/>", "also <handwritten>")]            // hand-written already
    [InlineData("<check command=\"vkCmdCopyBuffer2KHR\" family=\"BufferRanges\"/>", "not its alias")]    // an alias
    [InlineData("<check command=\"vkCmdNoSuchCommand\" family=\"BufferRanges\"/>", "unknown command")]
    [InlineData("<check command=\"vkGetDeviceProcAddr\" family=\"Device\"/>", "not a command with a wire body")]
    [InlineData("<check command=\"vkCmdCopyBuffer\" family=\"BufferRanges\"/>", "listed twice")]
    [InlineData("<check command=\"vkCmdDraw\"/>", "without family")]
    public void ABadCheckIsRefused(string line, string why)
    {
        var ex = Assert.ThrowsAny<InvalidDataException>(() => Program.GenerateHost(g.LoadModel("host.xml", HostXmlWith(line))));
        Assert.Contains(why, ex.Message);
    }

    [Theory]
    [InlineData("<after command=\"vkCreateSemaphore\" family=\"Sync\"/>", "also <handwritten>")]
    [InlineData("<after command=\"vkCmdDraw\" family=\"Pipelines\"/>", "neither creates one object")]
    [InlineData("<after command=\"vkCreateGraphicsPipelines\" family=\"Pipelines\"/>", "neither creates one object")]   // an array of pipelines
    [InlineData("<after command=\"vkDestroyImage\" family=\"HostCopy\"/>", "listed twice")]
    [InlineData("<after command=\"vkCreateNoSuchThing\" family=\"HostCopy\"/>", "unknown command")]
    [InlineData("<after command=\"vkDestroyBufferView\"/>", "without family")]
    public void ABadAfterIsRefused(string line, string why)
    {
        var ex = Assert.ThrowsAny<InvalidDataException>(() => Program.GenerateHost(g.LoadModel("host.xml", HostXmlWith(line))));
        Assert.Contains(why, ex.Message);
    }
}
