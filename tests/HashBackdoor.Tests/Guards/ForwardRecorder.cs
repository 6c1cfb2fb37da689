using System.Reflection;
using HashBackdoor.Hashing;
using HashBackdoor.Hashing.Backbones;
using static TorchSharp.torch;

namespace HashBackdoor.Tests.Guards;

/// <summary>
/// Records every batch a <see cref="HashModel"/>'s forward receives, by standing in front of its backbone: the model's
/// backbone field is swapped (reflection, the field is found by its type, not its name) for a module that copies the input
/// and then calls the original backbone. The original stays registered in the model, so its parameters, train/eval mode
/// and optimizer are untouched; the model computes exactly what it computed before. Only for models without an input stage
/// (the toolkit's own backbones at their native size), where the backbone's input is the model's input. <see cref="Dispose"/> puts the original
/// back. This is how the guards see "what the victim trains on" through the real trainer: <see cref="HashModel"/> is sealed
/// and <see cref="HashTrainer"/> calls <c>forward</c> directly, so TorchSharp's module hooks never run.
/// </summary>
internal sealed class ForwardRecorder : IDisposable
{
    private readonly HashModel model;
    private readonly FieldInfo field;
    private readonly nn.Module<Tensor, Tensor> original;
    private readonly Recorder recorder;

    private ForwardRecorder(HashModel model, FieldInfo field, nn.Module<Tensor, Tensor> original)
    {
        this.model = model;
        this.field = field;
        this.original = original;
        recorder = new Recorder(original);
        field.SetValue(model, recorder);
    }

    /// <summary>The recorded input batches, in call order (CPU copies, float [B, C, H, W]).</summary>
    public IReadOnlyList<Tensor> Batches => recorder.Batches;

    /// <summary>All recorded rows, concatenated in call order, float [total, C, H, W].</summary>
    public Tensor AllRows() => cat(recorder.Batches.ToList(), 0);

    /// <summary>Starts recording the forward inputs of <paramref name="model"/>.</summary>
    public static ForwardRecorder Attach(HashModel model)
    {
        if (model.Input is not null)
            throw new InvalidOperationException("the recorder sees the backbone's input; this model has an input stage before it");
        var fields = typeof(HashModel).GetFields(BindingFlags.Instance | BindingFlags.NonPublic)
            .Where(f => typeof(nn.Module<Tensor, Tensor>).IsAssignableFrom(f.FieldType) && f.GetValue(model) is IBackbone)
            .ToList();
        if (fields.Count != 1)
            throw new InvalidOperationException($"HashModel has {fields.Count} backbone fields; the recorder expects exactly one");
        var original = (nn.Module<Tensor, Tensor>)fields[0].GetValue(model)!;
        return new ForwardRecorder(model, fields[0], original);
    }

    /// <summary>Restores the original backbone and frees the recorded batches.</summary>
    public void Dispose()
    {
        field.SetValue(model, original);
        foreach (var b in recorder.Batches) b.Dispose();
        recorder.Batches.Clear();
    }

    private sealed class Recorder : nn.Module<Tensor, Tensor>, IBackbone
    {
        private readonly nn.Module<Tensor, Tensor> inner;

        public Recorder(nn.Module<Tensor, Tensor> inner) : base("ForwardRecorder") => this.inner = inner;

        public List<Tensor> Batches { get; } = new();

        public long FeatureSize => ((IBackbone)inner).FeatureSize;

        public IReadOnlyList<(string Name, nn.Module[] Modules)> Stages => ((IBackbone)inner).Stages;

        public override Tensor forward(Tensor x)
        {
            Batches.Add(x.detach().cpu().to_type(ScalarType.Float32).clone().DetachFromDisposeScope());
            return inner.forward(x);
        }
    }
}
