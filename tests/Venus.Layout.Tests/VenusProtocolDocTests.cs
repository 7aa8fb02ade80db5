namespace Venus.Layout.Tests;

/// <summary>
/// The Venus-only structs against the layouts that follow from shared/docs/venus-protocol.md §3.1,
/// written out by hand (no gcc).
/// </summary>
public sealed class VenusProtocolDocTests
{
    public static TheoryData<string> DocumentedStructs => new(VenusOnlyStructs.DocumentedLayouts.Keys.Order());

    [Theory]
    [MemberData(nameof(DocumentedStructs))]
    public void Venus_only_struct_matches_protocol_doc_3_1(string name)
    {
        Type type = ManagedLayout.ProtocolAssembly.GetType($"{ManagedLayout.VulkanNamespace}.{name}")
                    ?? throw new InvalidOperationException($"Venus.Protocol has no struct {name}");
        ManagedStruct s = ManagedLayout.Measure(type);
        (int size, (string Member, int Offset)[] members) = VenusOnlyStructs.DocumentedLayouts[name];
        Assert.Equal(members, s.Fields.Select(f => (f.Name, f.Offset)).ToArray());
        Assert.Equal(size, s.Size);
    }
}
