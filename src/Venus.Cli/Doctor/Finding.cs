namespace Venus.Cli.Doctor;

/// <summary>How bad a finding is: <see cref="Fail"/> means an application would not get a Venus device.</summary>
public enum Severity
{
    Ok,
    Info,
    Warn,
    Fail,
}

/// <summary>One line of the doctor's report: a topic ("manifests", "transport", ...), what was found, and what to do about it.</summary>
public sealed record Finding(Severity Severity, string Topic, string Message, string? Fix = null);

/// <summary>The findings of one doctor run, in the order they were made, plus the facts gathered on the way.</summary>
public sealed class DoctorReport(string mode)
{
    public string Mode { get; } = mode;
    public List<Finding> Findings { get; } = [];

    /// <summary>Facts for <c>--json</c> (and the text report's header): name → value (string, number, bool, or nested lists/dictionaries of those).</summary>
    public SortedDictionary<string, object?> Facts { get; } = new(StringComparer.Ordinal);

    public bool Healthy => Findings.TrueForAll(f => f.Severity != Severity.Fail);

    public void Ok(string topic, string message) => Findings.Add(new Finding(Severity.Ok, topic, message));
    public void Info(string topic, string message) => Findings.Add(new Finding(Severity.Info, topic, message));
    public void Warn(string topic, string message, string? fix = null) => Findings.Add(new Finding(Severity.Warn, topic, message, fix));
    public void Fail(string topic, string message, string? fix = null) => Findings.Add(new Finding(Severity.Fail, topic, message, fix));
}
