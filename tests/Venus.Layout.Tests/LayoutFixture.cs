using System.Diagnostics;

namespace Venus.Layout.Tests;

/// <summary>
/// Measures every struct of Venus.Protocol.Vulkan, pairs it with its C declaration (vulkan.h as gcc
/// preprocesses it in the peers chroot, or the hand-written Venus-only declarations) and runs ONE
/// gcc-compiled probe for all of them. A failure anywhere (no chroot, no gcc, probe does not build)
/// is kept and rethrown by <see cref="Require"/>, so every test that needs the probe fails with it.
/// </summary>
public sealed class LayoutFixture
{
    public LayoutFixture()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            Build();
        }
        catch (Exception e)
        {
            Error = e;
        }
        Elapsed = clock.Elapsed;
    }

    public Exception? Error { get; }
    public TimeSpan Elapsed { get; }

    public PeersChroot Chroot { get; private set; } = null!;

    /// <summary>vulkan.h's struct and union typedefs.</summary>
    public CDeclarations Header { get; private set; } = null!;

    /// <summary>The hand-written Venus-only declarations.</summary>
    public CDeclarations VenusOnly { get; private set; } = null!;

    /// <summary>Every struct type of the namespace, measured.</summary>
    public IReadOnlyList<ManagedStruct> AllStructs { get; private set; } = [];

    public IReadOnlyList<string> SkippedInlineArrayHelpers { get; private set; } = [];
    public IReadOnlyList<string> SkippedFunctionTables { get; private set; } = [];

    /// <summary>C# structs whose name vulkan.h declares.</summary>
    public IReadOnlyList<StructMapping> HeaderMappings { get; private set; } = [];

    /// <summary>C# structs declared by <see cref="VenusOnlyStructs.CDeclarations"/>.</summary>
    public IReadOnlyList<StructMapping> VenusOnlyMappings { get; private set; } = [];

    /// <summary>C# structs neither vulkan.h nor the Venus-only list declares (should be none).</summary>
    public IReadOnlyList<string> Unclassified { get; private set; } = [];

    /// <summary>Mappings measured by the probe besides the above (deliberately wrong decoys of the tests).</summary>
    public IReadOnlyList<StructMapping> DecoyMappings { get; private set; } = [];

    public CProbeResult Probe { get; private set; } = null!;

    public string ProbeSource { get; private set; } = "";

    public LayoutFixture Require()
    {
        if (Error is not null)
            throw new InvalidOperationException($"the C layout probe could not be run: {Error.Message}", Error);
        return this;
    }

    public IReadOnlyList<LayoutMismatch> Compare(IEnumerable<StructMapping> mappings)
    {
        var result = new List<LayoutMismatch>();
        foreach (StructMapping mapping in mappings)
        {
            if (!Probe.Structs.TryGetValue(mapping.CTypeName, out CStructLayout? c))
                result.Add(new LayoutMismatch(mapping.CSharp.Name, "(sizeof)", "gcc did not report this struct"));
            else
                result.AddRange(LayoutComparer.Compare(mapping, c));
        }
        return result;
    }

    private void Build()
    {
        // Everything that needs no chroot first, so that a chroot failure still reports cleanly.
        var all = new List<ManagedStruct>();
        var helpers = new List<string>();
        var tables = new List<string>();
        foreach (Type type in ManagedLayout.AllVulkanNamespaceStructs())
        {
            if (ManagedLayout.IsInlineArrayHelper(type))
                helpers.Add(type.Name);
            else if (VenusOnlyStructs.FunctionTables.Contains(type.Name))
                tables.Add(type.Name);
            all.Add(ManagedLayout.Measure(type));
        }
        AllStructs = all;
        SkippedInlineArrayHelpers = helpers;
        SkippedFunctionTables = tables;

        Chroot = PeersChroot.Ensure();
        Header = CDeclarations.Parse(Chroot.PreprocessVulkanHeader());
        VenusOnly = CDeclarations.Parse(VenusOnlyStructs.CDeclarations);
        string[] clash = VenusOnly.Structs.Keys.Where(n => Header.Find(n) is not null).ToArray();
        if (clash.Length > 0)
            throw new InvalidOperationException(
                $"vulkan.h now declares these 'Venus-only' structs; drop them from VenusOnlyStructs.CDeclarations: {string.Join(", ", clash)}");

        var header = new List<StructMapping>();
        var venus = new List<StructMapping>();
        var unclassified = new List<string>();
        foreach (ManagedStruct s in all)
        {
            if (helpers.Contains(s.Name) || tables.Contains(s.Name))
                continue;
            if (Header.Find(s.Name) is { } decl)
                header.Add(StructMapping.Create(s, decl));
            else if (VenusOnly.Find(s.Name) is { } venusDecl)
                venus.Add(StructMapping.Create(s, venusDecl));
            else
                unclassified.Add(s.Name);
        }
        HeaderMappings = header;
        VenusOnlyMappings = venus;
        Unclassified = unclassified;
        DecoyMappings = Decoys.Mappings(Header);

        ProbeSource = CLayoutProbe.BuildProgram(header.Concat(venus).Concat(DecoyMappings), VenusOnlyStructs.CDeclarations);
        Probe = CLayoutProbe.ParseOutput(Chroot.CompileAndRun(ProbeSource));
    }
}

[CollectionDefinition(Name)]
public sealed class LayoutCollection : ICollectionFixture<LayoutFixture>
{
    public const string Name = "C layout probe";
}
