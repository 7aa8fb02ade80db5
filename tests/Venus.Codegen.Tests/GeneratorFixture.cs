using Venus.Codegen.Emit;
using Venus.Codegen.Model;
using Venus.Codegen.Registry;

namespace Venus.Codegen.Tests;

/// <summary>
/// The generator's model, built once from vk.xml 1.4.309 and src/Venus.Codegen/Definitions as
/// eng/codegen.sh builds it. vk.xml comes from $VENUS_VKXML, else the checkout's .cache/vk.xml
/// (written by eng/codegen.sh, which eng/test.sh runs first), else the peers chroot.
/// </summary>
public sealed class GeneratorFixture
{
    public ProtocolModel Model { get; }
    public NativeEmitter Native { get; }
    public WireEmitter Wire { get; }
    public string Root { get; }

    public GeneratorFixture()
    {
        Root = FindRoot();
        Model = LoadModel();
        Native = new NativeEmitter(Model);
        Wire = new WireEmitter(Model, Native);
    }

    /// <summary>
    /// A fresh model from vk.xml and the definitions, with <paramref name="replace"/> (e.g. "icd.xml") read
    /// from <paramref name="text"/> instead of its file when given: for tests of what the generator refuses.
    /// </summary>
    public ProtocolModel LoadModel(string? replace = null, string? text = null)
    {
        string[] candidates =
        {
            Environment.GetEnvironmentVariable("VENUS_VKXML") ?? "",
            Path.Combine(Root, ".cache", "vk.xml"),
            "/var/cache/venus-peers/usr/share/vulkan/registry/vk.xml",
        };
        string vkxml = candidates.FirstOrDefault(p => p.Length > 0 && File.Exists(p))
            ?? throw new FileNotFoundException("vk.xml 1.4.309 not found: run eng/codegen.sh once (it caches .cache/vk.xml) or set VENUS_VKXML");
        var files = new List<string> { vkxml };
        string? temp = null;
        foreach (var f in Directory.GetFiles(Path.Combine(Root, "src", "Venus.Codegen", "Definitions"), "*.xml").OrderBy(f => f, StringComparer.Ordinal))
        {
            if (replace != null && Path.GetFileName(f) == replace)
            {
                temp = Path.Combine(Path.GetTempPath(), $"venus-codegen-tests-{Environment.ProcessId}-{replace}");
                File.WriteAllText(temp, text);
                files.Add(temp);
            }
            else files.Add(f);
        }
        try
        {
            return new ProtocolModel(VkRegistry.Load(files.ToArray()));
        }
        finally
        {
            if (temp != null) File.Delete(temp);
        }
    }

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Venus.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"no Venus.sln above {AppContext.BaseDirectory}");
    }

    public CommandModel Command(string name) => Model.Commands.Single(c => c.Name == name);
    public StructModel Struct(string name) => Model.Structs[name];
    public FieldPlan Plan(CommandModel c, string param) => Wire.Plan(c.Params.Single(p => p.Name == param));
    public FieldPlan Plan(StructModel s, string member) => Wire.Plan(s.Fields.Single(f => f.Name == member));
}

[CollectionDefinition("generator")]
public sealed class GeneratorCollection : ICollectionFixture<GeneratorFixture>;
