namespace Venus.Layout.Tests;

/// <summary>One disagreement between a C# struct and its C definition.</summary>
public sealed record LayoutMismatch(string Struct, string Field, string Problem)
{
    public override string ToString() => $"{Struct}.{Field}: {Problem}";
}

/// <summary>A C# field that stands for one ordinary C member.</summary>
public sealed record FieldMapping(ManagedField CSharp, CMember C);

/// <summary>A C# field that stands for a run of adjacent C bit-fields (e.g. <c>instanceCustomIndex_mask</c>).</summary>
public sealed record BitFieldMapping(ManagedField CSharp, IReadOnlyList<CMember> Members);

/// <summary>What gcc measured for one C struct.</summary>
/// <param name="Fields">member → (offsetof, sizeof) for the ordinary members that were asked for.</param>
/// <param name="BitFieldBytes">bit-field member → first and last byte its bits occupy (all ones written
/// into a zeroed struct), for the bit-fields that were asked for.</param>
public sealed record CStructLayout(
    string Name,
    long Size,
    long Alignment,
    IReadOnlyDictionary<string, (long Offset, long Size)> Fields,
    IReadOnlyDictionary<string, (long First, long Last)> BitFieldBytes);

/// <summary>
/// Pairs the fields of a C# struct with the members of a C struct by name: an ordinary field with
/// the C member of its name, a merged bit-field name (<c>a_b_c</c>) with the bit-fields a, b and c.
/// Naming problems (a C# field with no C member, a C member no C# field covers, a different member
/// order) are mismatches on their own.
/// </summary>
public sealed record StructMapping(
    ManagedStruct CSharp,
    CStructDecl C,
    IReadOnlyList<FieldMapping> Fields,
    IReadOnlyList<BitFieldMapping> BitFields,
    IReadOnlyList<LayoutMismatch> NameMismatches)
{
    /// <summary>Name of the C type the probe measures (the C# struct's name, which may be a C alias).</summary>
    public string CTypeName => CSharp.Name;

    public static StructMapping Create(ManagedStruct cs, CStructDecl decl)
    {
        var byName = decl.Members.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var fields = new List<FieldMapping>();
        var bitFields = new List<BitFieldMapping>();
        var problems = new List<LayoutMismatch>();
        var coveredInCSharpOrder = new List<string>();

        foreach (ManagedField field in cs.Fields)
        {
            if (byName.TryGetValue(field.Name, out CMember? member))
            {
                if (member.IsBitField)
                    bitFields.Add(new BitFieldMapping(field, [member]));
                else
                    fields.Add(new FieldMapping(field, member));
                coveredInCSharpOrder.Add(member.Name);
                continue;
            }

            string[] parts = field.Name.Split('_');
            if (parts.Length > 1 && parts.All(p => byName.TryGetValue(p, out CMember? m) && m.IsBitField))
            {
                bitFields.Add(new BitFieldMapping(field, parts.Select(p => byName[p]).ToList()));
                coveredInCSharpOrder.AddRange(parts);
                continue;
            }

            problems.Add(new LayoutMismatch(cs.Name, field.Name,
                $"C# field ({field.TypeName}, offset {field.Offset}) has no C member of that name in {decl.Name}"));
        }

        foreach (IGrouping<string, string> twice in coveredInCSharpOrder.GroupBy(n => n).Where(g => g.Count() > 1))
            problems.Add(new LayoutMismatch(cs.Name, twice.Key, $"C member is covered by {twice.Count()} C# fields"));

        var covered = coveredInCSharpOrder.ToHashSet(StringComparer.Ordinal);
        foreach (CMember member in decl.Members.Where(m => !covered.Contains(m.Name)))
            problems.Add(new LayoutMismatch(cs.Name, member.Name, $"C member '{member.Declaration}' has no C# field"));

        if (!decl.IsUnion)
        {
            var cOrder = decl.Members.Select(m => m.Name).Where(covered.Contains).ToList();
            var csOrder = coveredInCSharpOrder.Distinct().ToList();
            if (!cOrder.SequenceEqual(csOrder))
                problems.Add(new LayoutMismatch(cs.Name, "(member order)",
                    $"C# order [{string.Join(", ", csOrder)}] vs C order [{string.Join(", ", cOrder)}]"));
        }

        if (decl.IsUnion != cs.IsExplicit)
            problems.Add(new LayoutMismatch(cs.Name, "(kind)",
                $"C declares a {(decl.IsUnion ? "union" : "struct")} but the C# struct is {(cs.IsExplicit ? "LayoutKind.Explicit" : "sequential")}"));

        return new StructMapping(cs, decl, fields, bitFields, problems);
    }
}

public static class LayoutComparer
{
    /// <summary>
    /// Every way the C# layout of <paramref name="mapping"/> differs from what gcc measured: naming
    /// problems, struct size and alignment, each ordinary field's offset and size, and for merged
    /// bit-fields that the C# field's bytes hold every bit of each C bit-field it stands for.
    /// </summary>
    public static IReadOnlyList<LayoutMismatch> Compare(StructMapping mapping, CStructLayout c)
    {
        ManagedStruct cs = mapping.CSharp;
        var result = new List<LayoutMismatch>(mapping.NameMismatches);
        string sizes = $"struct size C# {cs.Size} vs C {c.Size}";

        if (cs.Size != c.Size)
            result.Add(new LayoutMismatch(cs.Name, "(sizeof)", $"C# {cs.Size} vs C {c.Size}"));
        if (cs.Alignment != c.Alignment)
            result.Add(new LayoutMismatch(cs.Name, "(alignof)", $"C# {cs.Alignment} vs C {c.Alignment}; {sizes}"));

        foreach (FieldMapping field in mapping.Fields)
        {
            if (!c.Fields.TryGetValue(field.C.Name, out (long Offset, long Size) measured))
            {
                result.Add(new LayoutMismatch(cs.Name, field.C.Name, "gcc did not report this member"));
                continue;
            }
            if (field.CSharp.Offset != measured.Offset)
                result.Add(new LayoutMismatch(cs.Name, field.C.Name,
                    $"offset C# {field.CSharp.Offset} vs C {measured.Offset}; field size C# {field.CSharp.Size} vs C {measured.Size}; {sizes}"));
            else if (field.CSharp.Size != measured.Size)
                result.Add(new LayoutMismatch(cs.Name, field.C.Name,
                    $"field size C# {field.CSharp.Size} ({field.CSharp.TypeName}) vs C {measured.Size} ('{field.C.Declaration}') at offset {measured.Offset}; {sizes}"));
        }

        foreach (BitFieldMapping group in mapping.BitFields)
        {
            long start = group.CSharp.Offset, end = group.CSharp.Offset + group.CSharp.Size;
            foreach (CMember member in group.Members)
            {
                if (!c.BitFieldBytes.TryGetValue(member.Name, out (long First, long Last) bytes) || bytes.First < 0)
                {
                    result.Add(new LayoutMismatch(cs.Name, member.Name, "gcc did not report where this bit-field lies"));
                    continue;
                }
                if (bytes.First < start || bytes.Last >= end)
                    result.Add(new LayoutMismatch(cs.Name, $"{group.CSharp.Name} ({member.Name})",
                        $"bit-field '{member.Declaration}' occupies C bytes {bytes.First}..{bytes.Last}, outside the C# field's bytes {start}..{end - 1}; {sizes}"));
            }
        }
        return result;
    }
}
