using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Venus.Codegen.Registry;

/// <summary>A struct/union member or a command parameter as the registry declares it.</summary>
public sealed class RegMember
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public bool IsConst { get; init; }
    /// <summary>Number of '*' after the type (0, 1 or 2).</summary>
    public int PointerDepth { get; init; }
    /// <summary>Fixed array dimension as written: a number or an enum constant name; null if not an array.</summary>
    public string? FixedDim { get; init; }
    public string? FixedDim2 { get; init; }
    public string? Len { get; init; }
    public string? AltLen { get; init; }
    public string? Optional { get; init; }
    public string? Values { get; init; }
    public int BitField { get; init; }
    public string? Selector { get; init; }
    public string? Selection { get; init; }
    /// <summary>noautovalidity="true": the member may be ignored (and NULL) depending on other members.</summary>
    public bool NoAutoValidity { get; init; }
}

public sealed class RegType
{
    public required string Name { get; init; }
    public required string Category { get; init; }   // struct, union, handle, enum, bitmask, basetype, funcpointer, include, define, (empty = C type)
    public List<RegMember> Members { get; } = new();
    public string? Alias { get; set; }
    public bool ReturnedOnly { get; set; }
    /// <summary>vk.xml allowduplicate: the struct may appear more than once in one pNext chain.</summary>
    public bool AllowDuplicate { get; set; }
    public List<string> StructExtends { get; } = new();
    public string? Parent { get; set; }              // handles
    public bool Dispatchable { get; set; }           // handles
    public string? ObjTypeEnum { get; set; }         // handles
    public string? BaseType { get; set; }            // basetype typedef target / bitmask VkFlags vs VkFlags64
    public string? Requires { get; set; }            // bitmask → FlagBits enum; C types → header
    public string? BitValues { get; set; }
    public string Source { get; set; } = "vk.xml";
}

public sealed class RegEnumValue
{
    public required string Name { get; init; }
    public long Value { get; set; }
    public string? Alias { get; set; }
    public string? Extension { get; init; }
}

public sealed class RegEnum
{
    public required string Name { get; init; }
    public bool IsBitmask { get; init; }
    public int BitWidth { get; init; } = 32;
    public List<RegEnumValue> Values { get; } = new();
}

public sealed class RegCommand
{
    public required string Name { get; init; }
    public required string ReturnType { get; init; }
    public List<RegMember> Params { get; } = new();
    public string? Alias { get; set; }
    public string Source { get; set; } = "vk.xml";
}

public sealed class RegExtension
{
    public required string Name { get; init; }
    public int Number { get; init; }
    public required string Kind { get; init; }       // instance / device
    public string? Platform { get; init; }
    public required string Supported { get; init; }
    public int SpecVersion { get; set; }
    public string? PromotedTo { get; init; }
    public HashSet<string> Types { get; } = new();
    public HashSet<string> Commands { get; } = new();
    /// <summary>
    /// Per command, the <c>depends</c> expression of the require block that lists it (vk.xml syntax:
    /// extension and version names, ',' or, '+' and, parentheses); null when a block without one
    /// lists it, i.e. the command comes with the extension alone.
    /// </summary>
    public Dictionary<string, string?> CommandDepends { get; } = new();
}

public sealed class RegFeature
{
    public required string Name { get; init; }       // VK_VERSION_1_2
    public required int Major { get; init; }
    public required int Minor { get; init; }
    public HashSet<string> Types { get; } = new();
    public HashSet<string> Commands { get; } = new();
}

/// <summary>
/// vk.xml (and our own Venus definitions, written in the same syntax) parsed into plain tables.
/// Only the Vulkan API ("vulkan", not "vulkansc") is kept.
/// </summary>
public sealed class VkRegistry
{
    public Dictionary<string, RegType> Types { get; } = new();
    public Dictionary<string, RegEnum> Enums { get; } = new();
    public Dictionary<string, long> Constants { get; } = new();
    public Dictionary<string, RegCommand> Commands { get; } = new();
    public Dictionary<string, RegExtension> Extensions { get; } = new();
    public List<RegFeature> Features { get; } = new();
    /// <summary>vk.xml's &lt;formats&gt;: texel block size and extent, depth/stencil bits, planes.</summary>
    public List<RegFormat> Formats { get; } = new();
    /// <summary>"extension or feature name" of every type/command, for gating by version or extension.</summary>
    public Dictionary<string, string> TypeOrigin { get; } = new();
    public Dictionary<string, string> CommandOrigin { get; } = new();
    /// <summary>Venus wire annotations from our definitions: the default tag of each union.</summary>
    public Dictionary<string, int> UnionTags { get; } = new();
    /// <summary>Venus wire annotations: commands that exist only on one side and never travel, with the reason.</summary>
    public Dictionary<string, string> LocalOnly { get; } = new();
    /// <summary>The protocol's extension table: name → (number, spec version, spec version in the peers' table or 0).</summary>
    public Dictionary<string, (int Number, int Spec, int Peer)> ProtocolExtensions { get; } = new();
    /// <summary>(struct, member) → C# condition over "{0}" under which the member is encoded.</summary>
    public Dictionary<(string, string), string> Conditions { get; } = new();
    public HashSet<string> BlockedTypes { get; } = new();
    /// <summary>(struct or command, member) → inner count of an array of pointers whose len names only the outer count.</summary>
    public Dictionary<(string, string), string> InnerLens { get; } = new();
    /// <summary>(struct, member) → why the member never travels.</summary>
    public Dictionary<(string, string), string> Skipped { get; } = new();
    /// <summary>Guest ICD (icd.xml): commands whose entry points are written by hand, as listed (core or alias names).</summary>
    public List<string> IcdHandWritten { get; } = new();
    /// <summary>host.xml: commands the host renderer implements by hand (IHandlers in src/Venus.HostRenderer/Families/).</summary>
    public List<string> HostHandWritten { get; } = new();
    /// <summary>
    /// host.xml: commands whose generated handler calls a hand-written check (<c>Handlers.&lt;command&gt;Check</c>
    /// in src/Venus.HostRenderer/Families/&lt;family&gt;.cs) on the decoded arguments before the driver, as listed.
    /// </summary>
    public List<(string Command, string Family)> HostChecks { get; } = new();
    /// <summary>
    /// host.xml: commands whose generated handler, once the driver created or destroyed the object and
    /// the object table followed, calls a hand-written <c>Handlers.&lt;command&gt;After</c> in
    /// src/Venus.HostRenderer/Families/&lt;family&gt;.cs (to record or forget what the family keeps), as listed.
    /// </summary>
    public List<(string Command, string Family)> HostAfters { get; } = new();
    /// <summary>icd.xml: hand-written command → the family file that implements it (Families/&lt;family&gt;.cs) and the C# condition under which it is exported (null: always).</summary>
    public Dictionary<string, (string Family, string? When)> IcdFamilies { get; } = new(StringComparer.Ordinal);
    /// <summary>Guest ICD (icd.xml): creation commands whose generated export sends without waiting for the host (guest-chosen ids).</summary>
    public List<string> IcdAsync { get; } = new();
    /// <summary>icd.xml &lt;callring&gt;: slow synchronous commands whose call goes through a call ring of its own (GuestRing.ForSlowCall).</summary>
    public List<string> IcdCallRing { get; } = new();
    /// <summary>
    /// Guest ICD (icd.xml): vkCmd* commands that keep their generated export and, once recorded, call a
    /// hand-written hook (<c>IcdCommands.&lt;command&gt;Recorded</c> in Families/&lt;family&gt;.cs), as listed.
    /// </summary>
    public List<(string Command, string Family)> IcdHooks { get; } = new();
    /// <summary>VK_HEADER_VERSION of vk.xml (309 for 1.4.309).</summary>
    public int HeaderVersion { get; private set; }

    static bool IsVulkanApi(XElement e)
    {
        var api = (string?)e.Attribute("api");
        return api == null || api.Split(',').Contains("vulkan");
    }

    public static VkRegistry Load(params string[] paths)
    {
        var reg = new VkRegistry();
        foreach (var p in paths) reg.Merge(XDocument.Load(p), Path.GetFileName(p));
        return reg;
    }

    void Merge(XDocument doc, string source)
    {
        var root = doc.Root ?? throw new InvalidDataException($"{source}: empty document");
        foreach (var types in root.Elements("types"))
            foreach (var t in types.Elements("type"))
                if (IsVulkanApi(t)) ParseType(t, source);
        foreach (var enums in root.Elements("enums"))
            ParseEnums(enums);
        foreach (var cmds in root.Elements("commands"))
            foreach (var c in cmds.Elements("command"))
                if (IsVulkanApi(c)) ParseCommand(c, source);
        foreach (var f in root.Elements("feature"))
            if (IsVulkanApi(f)) ParseFeature(f);
        foreach (var exts in root.Elements("extensions"))
            foreach (var x in exts.Elements("extension"))
                ParseExtension(x);
        foreach (var fs in root.Elements("formats"))
            foreach (var f in fs.Elements("format"))
                Formats.Add(RegFormat.Parse(f));
        foreach (var v in root.Elements("venus"))
        {
            foreach (var u in v.Elements("union"))
                UnionTags[(string)u.Attribute("name")!] = int.Parse((string)u.Attribute("tag")!, CultureInfo.InvariantCulture);
            foreach (var c in v.Elements("local"))
                LocalOnly[(string)c.Attribute("command")!] = (string)c.Attribute("reason")!;
            foreach (var x in v.Elements("extension"))
                ProtocolExtensions[(string)x.Attribute("name")!] = (
                    int.Parse((string)x.Attribute("number")!, CultureInfo.InvariantCulture),
                    int.Parse((string)x.Attribute("spec")!, CultureInfo.InvariantCulture),
                    int.TryParse((string?)x.Attribute("peer"), out var peer) ? peer : 0);
            foreach (var c in v.Elements("condition"))
                Conditions[((string)c.Attribute("struct")!, (string)c.Attribute("member")!)] = (string)c.Attribute("when")!;
            foreach (var b in v.Elements("blocked"))
                BlockedTypes.Add((string)b.Attribute("type")!);
            foreach (var l in v.Elements("innerlen"))
                InnerLens[((string)l.Attribute("owner")!, (string)l.Attribute("member")!)] = (string)l.Attribute("len")!;
            foreach (var k in v.Elements("skip"))
                Skipped[((string)k.Attribute("struct")!, (string)k.Attribute("member")!)] = (string)k.Attribute("reason")!;
        }
        foreach (var icd in root.Elements("icd"))
            foreach (var h in icd.Elements("handwritten"))
            {
                string cmd = (string?)h.Attribute("command") ?? throw new InvalidDataException($"{source}: <handwritten> without command");
                string family = (string?)h.Attribute("family") ?? throw new InvalidDataException($"{source}: <handwritten command=\"{cmd}\"> without family");
                IcdHandWritten.Add(cmd);
                if (!IcdFamilies.TryAdd(cmd, (family, (string?)h.Attribute("when"))))
                    throw new InvalidDataException($"{source}: {cmd} listed twice");
            }
        foreach (var host in root.Elements("host"))
            foreach (var h in host.Elements("handwritten"))
                HostHandWritten.Add((string?)h.Attribute("command") ?? throw new InvalidDataException($"{source}: <handwritten> without command"));
        ReadFamilyList(root.Elements("host"), "check", HostChecks, source);
        ReadFamilyList(root.Elements("host"), "after", HostAfters, source);
        foreach (var icd in root.Elements("icd"))
            foreach (var a in icd.Elements("async"))
                IcdAsync.Add((string?)a.Attribute("command") ?? throw new InvalidDataException($"{source}: <async> without command"));
        foreach (var icd in root.Elements("icd"))
            foreach (var a in icd.Elements("callring"))
                IcdCallRing.Add((string?)a.Attribute("command") ?? throw new InvalidDataException($"{source}: <callring> without command"));
        ReadFamilyList(root.Elements("icd"), "hook", IcdHooks, source);
        if (HeaderVersion == 0)
        {
            var hv = root.Descendants("type").FirstOrDefault(t => (string?)t.Attribute("category") == "define" && t.Element("name")?.Value == "VK_HEADER_VERSION");
            if (hv != null && Regex.Match(hv.Value, @"VK_HEADER_VERSION\s+(\d+)") is { Success: true } m) HeaderVersion = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// The &lt;<paramref name="element"/> command= family=&gt; lines of <paramref name="sides"/> (icd.xml's
    /// &lt;hook&gt;, host.xml's &lt;check&gt;), appended to <paramref name="into"/> in order; each command once.
    /// </summary>
    static void ReadFamilyList(IEnumerable<XElement> sides, string element, List<(string Command, string Family)> into, string source)
    {
        foreach (var side in sides)
            foreach (var h in side.Elements(element))
            {
                string cmd = (string?)h.Attribute("command") ?? throw new InvalidDataException($"{source}: <{element}> without command");
                string family = (string?)h.Attribute("family") ?? throw new InvalidDataException($"{source}: <{element} command=\"{cmd}\"> without family");
                if (into.Any(k => k.Command == cmd)) throw new InvalidDataException($"{source}: <{element}> {cmd} listed twice");
                into.Add((cmd, family));
            }
    }

    void ParseType(XElement t, string source)
    {
        var category = (string?)t.Attribute("category") ?? "";
        var name = (string?)t.Attribute("name") ?? t.Element("name")?.Value;
        if (name == null) return;
        var rt = new RegType { Name = name, Category = category, Source = source };
        rt.Alias = (string?)t.Attribute("alias");
        rt.Requires = (string?)t.Attribute("requires");
        rt.BitValues = (string?)t.Attribute("bitvalues");
        switch (category)
        {
            case "struct":
            case "union":
                rt.ReturnedOnly = (string?)t.Attribute("returnedonly") == "true";
                rt.AllowDuplicate = (string?)t.Attribute("allowduplicate") == "true";
                var ext = (string?)t.Attribute("structextends");
                if (ext != null) rt.StructExtends.AddRange(ext.Split(','));
                foreach (var m in t.Elements("member"))
                    if (IsVulkanApi(m)) rt.Members.Add(ParseMember(m));
                break;
            case "handle":
                rt.Parent = (string?)t.Attribute("parent");
                rt.ObjTypeEnum = (string?)t.Attribute("objtypeenum");
                rt.Dispatchable = t.Element("type")?.Value == "VK_DEFINE_HANDLE";
                break;
            case "basetype":
            case "bitmask":
                rt.BaseType = t.Element("type")?.Value;
                break;
        }
        // The first (vulkan) definition wins; vulkansc variants were filtered above.
        Types.TryAdd(name, rt);
    }

    static RegMember ParseMember(XElement m)
    {
        // The C declaration is the concatenation of the element's text and its <type>/<name>/<enum> children.
        var type = m.Element("type")?.Value ?? throw new InvalidDataException($"member without type: {m}");
        var name = m.Element("name")?.Value ?? throw new InvalidDataException($"member without name: {m}");
        string before = "", after = "";
        bool seenName = false;
        foreach (var node in m.Nodes())
        {
            if (node is XElement el)
            {
                if (el.Name == "comment") continue;
                if (el.Name == "name") { seenName = true; continue; }
                if (el.Name == "type") continue;
                if (el.Name == "enum") { if (seenName) after += el.Value; continue; }
            }
            else if (node is XText tx)
            {
                if (seenName) after += tx.Value; else before += tx.Value;
            }
        }
        var full = before + " " + type + " ";
        string? dim = null, dim2 = null;
        var dims = Regex.Matches(after, @"\[\s*([A-Za-z0-9_]+)\s*\]");
        if (dims.Count > 0) dim = dims[0].Groups[1].Value;
        if (dims.Count > 1) dim2 = dims[1].Groups[1].Value;
        int bits = 0;
        var bf = Regex.Match(after, @":\s*(\d+)");
        if (bf.Success) bits = int.Parse(bf.Groups[1].Value, CultureInfo.InvariantCulture);
        var tail = m.Nodes().OfType<XText>().Select(x => x.Value).Aggregate("", (a, b) => a + b);
        int ptr = 0;
        // count '*' between the type and the name
        var typeIdx = m.Nodes().ToList();
        bool afterType = false;
        foreach (var node in typeIdx)
        {
            if (node is XElement el && el.Name == "type") { afterType = true; continue; }
            if (node is XElement el2 && el2.Name == "name") break;
            if (afterType && node is XText tx) ptr += tx.Value.Count(ch => ch == '*');
        }
        return new RegMember
        {
            Name = name,
            Type = type,
            IsConst = before.Contains("const"),
            PointerDepth = ptr,
            FixedDim = dim,
            FixedDim2 = dim2,
            Len = (string?)m.Attribute("len"),
            AltLen = (string?)m.Attribute("altlen"),
            Optional = (string?)m.Attribute("optional"),
            Values = (string?)m.Attribute("values"),
            BitField = bits,
            Selector = (string?)m.Attribute("selector"),
            Selection = (string?)m.Attribute("selection"),
            NoAutoValidity = (string?)m.Attribute("noautovalidity") == "true",
        };
    }

    void ParseEnums(XElement enums)
    {
        var name = (string?)enums.Attribute("name");
        var kind = (string?)enums.Attribute("type");
        if (name == "API Constants" || kind == null)
        {
            foreach (var e in enums.Elements("enum"))
            {
                var n = (string)e.Attribute("name")!;
                var v = (string?)e.Attribute("value");
                if (v != null && TryParseCValue(v, out var val)) Constants[n] = val;
                var alias = (string?)e.Attribute("alias");
                if (alias != null && Constants.TryGetValue(alias, out var av)) Constants[n] = av;
            }
            return;
        }
        if (name == null) return;
        if (!Enums.TryGetValue(name, out var re))
        {
            re = new RegEnum { Name = name, IsBitmask = kind == "bitmask", BitWidth = (string?)enums.Attribute("bitwidth") == "64" ? 64 : 32 };
            Enums[name] = re;
        }
        foreach (var e in enums.Elements("enum"))
        {
            if (!IsVulkanApi(e)) continue;
            AddEnumValue(re, e, null, 0);
        }
    }

    static bool TryParseCValue(string v, out long value)
    {
        v = v.Trim().TrimStart('(').TrimEnd(')');
        bool neg = false;
        if (v.StartsWith("~"))
        {
            // ~0U, ~1U, ~2U, ~0ULL
            var inner = v[1..].TrimEnd('U', 'L', 'u', 'l');
            if (long.TryParse(inner, out var iv))
            {
                value = v.EndsWith("ULL") ? (long)~(ulong)iv : (long)(uint)~(uint)iv;
                return true;
            }
            value = 0; return false;
        }
        if (v.StartsWith("-")) { neg = true; v = v[1..]; }
        // An F suffix (a float) is only for decimals: in hex it is a digit (0x0000001F, 0x7FFFFFFF).
        v = v.StartsWith("0x") ? v.TrimEnd('U', 'L', 'u', 'l') : v.TrimEnd('U', 'L', 'u', 'l', 'F', 'f');
        if (v.StartsWith("0x") && long.TryParse(v[2..], NumberStyles.HexNumber, null, out var hv)) { value = neg ? -hv : hv; return true; }
        if (long.TryParse(v, out var dv)) { value = neg ? -dv : dv; return true; }
        value = 0; return false;
    }

    void AddEnumValue(RegEnum re, XElement e, string? extName, int extNumber)
    {
        var n = (string)e.Attribute("name")!;
        if (re.Values.Any(x => x.Name == n)) return;
        var alias = (string?)e.Attribute("alias");
        if (alias != null) { re.Values.Add(new RegEnumValue { Name = n, Alias = alias, Extension = extName }); return; }
        long value;
        if ((string?)e.Attribute("bitpos") is { } bp) value = 1L << int.Parse(bp, CultureInfo.InvariantCulture);
        else if ((string?)e.Attribute("offset") is { } off)
        {
            var num = (string?)e.Attribute("extnumber") is { } xn ? int.Parse(xn, CultureInfo.InvariantCulture) : extNumber;
            value = 1000000000L + (num - 1) * 1000L + int.Parse(off, CultureInfo.InvariantCulture);
            if ((string?)e.Attribute("dir") == "-") value = -value;
        }
        else if ((string?)e.Attribute("value") is { } v && TryParseCValue(v, out var pv)) value = pv;
        else return;
        re.Values.Add(new RegEnumValue { Name = n, Value = value, Extension = extName });
    }

    void ParseCommand(XElement c, string source)
    {
        var alias = (string?)c.Attribute("alias");
        if (alias != null)
        {
            var an = (string)c.Attribute("name")!;
            Commands.TryAdd(an, new RegCommand { Name = an, ReturnType = "", Alias = alias, Source = source });
            return;
        }
        var proto = c.Element("proto")!;
        var name = proto.Element("name")!.Value;
        var rc = new RegCommand { Name = name, ReturnType = proto.Element("type")!.Value, Source = source };
        foreach (var p in c.Elements("param"))
            if (IsVulkanApi(p)) rc.Params.Add(ParseMember(p));
        Commands.TryAdd(name, rc);
    }

    void ParseFeature(XElement f)
    {
        var number = ((string)f.Attribute("number")!).Split('.');
        var feat = new RegFeature { Name = (string)f.Attribute("name")!, Major = int.Parse(number[0]), Minor = int.Parse(number[1]) };
        foreach (var req in f.Elements("require"))
        {
            if (!IsVulkanApi(req)) continue;
            foreach (var t in req.Elements("type")) { var n = (string)t.Attribute("name")!; feat.Types.Add(n); TypeOrigin.TryAdd(n, feat.Name); }
            foreach (var cm in req.Elements("command")) { var n = (string)cm.Attribute("name")!; feat.Commands.Add(n); CommandOrigin.TryAdd(n, feat.Name); }
            foreach (var e in req.Elements("enum"))
            {
                var ext = (string?)e.Attribute("extends");
                if (ext != null && Enums.TryGetValue(ext, out var re)) AddEnumValue(re, e, feat.Name, 0);
                else if (ext == null && (string?)e.Attribute("value") is { } v && TryParseCValue(v, out var cv)) Constants.TryAdd((string)e.Attribute("name")!, cv);
            }
        }
        Features.Add(feat);
    }

    void ParseExtension(XElement x)
    {
        var name = (string)x.Attribute("name")!;
        var supported = (string?)x.Attribute("supported") ?? "";
        var number = int.Parse((string)x.Attribute("number")!, CultureInfo.InvariantCulture);
        var ext = new RegExtension
        {
            Name = name, Number = number, Kind = (string?)x.Attribute("type") ?? "device",
            Platform = (string?)x.Attribute("platform"), Supported = supported,
            PromotedTo = (string?)x.Attribute("promotedto"),
        };
        bool vulkan = supported.Split(',').Contains("vulkan");
        foreach (var req in x.Elements("require"))
        {
            if (!IsVulkanApi(req)) continue;
            foreach (var e in req.Elements("enum"))
            {
                var en = (string)e.Attribute("name")!;
                if (en.EndsWith("_SPEC_VERSION") && (string?)e.Attribute("value") is { } sv && int.TryParse(sv, out var spec)) ext.SpecVersion = spec;
                var extends = (string?)e.Attribute("extends");
                // Enum values of disabled extensions still occupy their numbers; keep them only for supported ones.
                if (vulkan && extends != null && Enums.TryGetValue(extends, out var re)) AddEnumValue(re, e, name, number);
            }
            if (!vulkan) continue;
            foreach (var t in req.Elements("type")) { var n = (string)t.Attribute("name")!; ext.Types.Add(n); TypeOrigin.TryAdd(n, name); }
            var depends = (string?)req.Attribute("depends");
            foreach (var cm in req.Elements("command"))
            {
                var n = (string)cm.Attribute("name")!;
                ext.Commands.Add(n);
                CommandOrigin.TryAdd(n, name);
                // Listed by several blocks: needed when any of them applies.
                if (!ext.CommandDepends.TryGetValue(n, out var had)) ext.CommandDepends[n] = depends;
                else if (had != null) ext.CommandDepends[n] = depends == null ? null : $"({had}),({depends})";
            }
        }
        Extensions[name] = ext;
    }


    /// <summary>Follows type aliases to the defining type.</summary>
    public RegType? Resolve(string name)
    {
        for (int i = 0; i < 8 && Types.TryGetValue(name, out var t); i++)
        {
            if (t.Alias == null) return t;
            name = t.Alias;
        }
        return null;
    }

    public RegCommand? ResolveCommand(string name)
    {
        for (int i = 0; i < 8 && Commands.TryGetValue(name, out var c); i++)
        {
            if (c.Alias == null) return c;
            name = c.Alias;
        }
        return null;
    }

    public long ResolveConstant(string s)
    {
        if (long.TryParse(s, out var v)) return v;
        if (Constants.TryGetValue(s, out v)) return v;
        throw new InvalidDataException($"unknown constant {s}");
    }
}

/// <summary>One vk.xml &lt;format&gt;: what a host copy needs to size a region of it.</summary>
public sealed record RegFormat(string Name, int BlockSize, int BlockWidth, int BlockHeight, int BlockDepth,
    int DepthBits, int StencilBits, IReadOnlyList<string> Planes)
{
    public static RegFormat Parse(XElement f)
    {
        int[] extent = ((string?)f.Attribute("blockExtent") ?? "1,1,1").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        int Bits(string component) =>
            f.Elements("component").FirstOrDefault(c => (string?)c.Attribute("name") == component) is { } c
                && int.TryParse((string?)c.Attribute("bits"), out int b) ? b : 0;
        var planes = f.Elements("plane").OrderBy(p => int.Parse((string)p.Attribute("index")!, CultureInfo.InvariantCulture))
            .Select(p => (string)p.Attribute("compatible")!).ToList();
        return new RegFormat((string)f.Attribute("name")!, int.Parse((string)f.Attribute("blockSize")!, CultureInfo.InvariantCulture),
            extent[0], extent[1], extent[2], Bits("D"), Bits("S"), planes);
    }
}
